//! Parent selection: tournaments (the best of k random individuals by the ranking key) and
//! lexicase selection (Helmuth & Spector): per parent, the cases are shuffled with the
//! generation's random stream and the population is filtered case by case, keeping the
//! individuals best on each; epsilon-lexicase (La Cava et al.) keeps those within the
//! case's median absolute deviation of the best instead. With parsimony pressure
//! (`--size-weight` above 0) size is the last case (the smallest survive); without it,
//! survivors tied on every case are equals — a parent of any size, so that neutral
//! variants (the ground new behaviour grows from) are not culled in favour of the
//! smallest. A random survivor is the parent. Every choice comes from the caller's
//! ChaCha8 stream, so selection is deterministic.

use super::Individual;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How parents are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// The best of `tournament` random individuals.
    #[default]
    Tournament,
    /// Lexicase: filter by each case in a random order, exact best.
    Lexicase,
    /// Epsilon-lexicase: as lexicase, within each case's median absolute deviation.
    EpsilonLexicase,
}

impl Selection {
    pub fn name(self) -> &'static str {
        match self {
            Selection::Tournament => "tournament",
            Selection::Lexicase => "lexicase",
            Selection::EpsilonLexicase => "epsilon-lexicase",
        }
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An individual's errors per case: its case errors, or its aggregate error as the only
/// case when the goal has no cases.
fn errors(ind: &Individual) -> &[f64] {
    if ind.errors.is_empty() {
        std::slice::from_ref(&ind.fitness.error)
    } else {
        &ind.errors
    }
}

fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Per case, the median absolute deviation of the population's errors (epsilon-lexicase's
/// tolerances); all zeros for plain lexicase.
pub fn epsilons(pop: &[Individual], selection: Selection) -> Vec<f64> {
    let cases = pop.first().map_or(0, |i| errors(i).len());
    if selection != Selection::EpsilonLexicase {
        return vec![0.0; cases];
    }
    (0..cases)
        .map(|c| {
            let mut col: Vec<f64> = pop
                .iter()
                .map(|i| errors(i).get(c).copied().unwrap_or(f64::MAX))
                .collect();
            let m = median(&mut col);
            let mut dev: Vec<f64> = col.iter().map(|e| (e - m).abs()).collect();
            let mad = median(&mut dev);
            if mad.is_finite() { mad } else { 0.0 }
        })
        .collect()
}

/// The population as lexicase sees it, built once per generation: individuals with the same
/// error on every case form one class (neutral variants are common, so there are far fewer
/// classes than individuals), and the classes' errors are stored case by case, so that
/// filtering on a case reads one contiguous row. Selecting through classes keeps exactly the
/// choices of filtering individuals one by one — individuals with equal errors always pass or
/// fail a case together — with the same random draws.
#[derive(Clone, Debug)]
pub struct Lexicase {
    /// Per case, the tolerance ([`epsilons`]).
    epsilons: Vec<f64>,
    /// Each class's members: indices into the population, ascending.
    members: Vec<Vec<usize>>,
    /// `errors[case * classes + class]`: the class's error on the case.
    errors: Vec<f64>,
}

impl Lexicase {
    /// Group `pop` for lexicase (`selection` says whether tolerances are epsilon-lexicase's).
    pub fn new(pop: &[Individual], selection: Selection) -> Lexicase {
        let epsilons = epsilons(pop, selection);
        let cases = epsilons.len();
        let error = |i: &Individual, c: usize| errors(i).get(c).copied().unwrap_or(f64::MAX);
        let mut class_of: HashMap<Vec<u64>, usize, rustc_hash::FxBuildHasher> = HashMap::default();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut rows: Vec<usize> = Vec::new();
        for (i, ind) in pop.iter().enumerate() {
            let key: Vec<u64> = (0..cases).map(|c| error(ind, c).to_bits()).collect();
            let class = *class_of.entry(key).or_insert_with(|| {
                members.push(Vec::new());
                rows.push(i);
                members.len() - 1
            });
            members[class].push(i);
        }
        let errors = (0..cases)
            .flat_map(|c| rows.iter().map(move |&i| (i, c)))
            .map(|(i, c)| error(&pop[i], c))
            .collect();
        Lexicase {
            epsilons,
            members,
            errors,
        }
    }

    /// One parent's index in `pop`: the cases in an order shuffled with `rng`, the population filtered case
    /// by case (keeping those within the case's tolerance of the best), then — with
    /// `parsimony` — the smallest, and a random survivor.
    pub fn select(&self, rng: &mut ChaCha8Rng, pop: &[Individual], parsimony: bool) -> usize {
        let cases = self.epsilons.len();
        let mut order: Vec<usize> = (0..cases).collect();
        for i in (1..order.len()).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        let classes = self.members.len();
        let mut alive: Vec<usize> = (0..classes).collect();
        for &c in &order {
            // One class left cannot be filtered further: it is the best on every case.
            if alive.len() <= 1 {
                break;
            }
            let row = &self.errors[c * classes..(c + 1) * classes];
            let best = alive.iter().map(|&k| row[k]).fold(f64::INFINITY, f64::min);
            let limit = best + self.epsilons[c];
            alive.retain(|&k| row[k] <= limit);
        }
        let mut survivors: Vec<usize> = alive
            .iter()
            .flat_map(|&k| self.members[k].iter().copied())
            .collect();
        survivors.sort_unstable();
        if parsimony && let Some(smallest) = survivors.iter().map(|&i| pop[i].fitness.size).min() {
            survivors.retain(|&i| pop[i].fitness.size == smallest);
        }
        survivors[rng.random_range(0..survivors.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::evolve::goal::Fitness;
    use rand::SeedableRng;

    fn ind(errors: &[f64], size: usize) -> Individual {
        let fitness = Fitness {
            error: errors.iter().sum(),
            cycles: 0,
            size,
        };
        let scored = crate::tools::evolve::Scored {
            fitness,
            errors: errors.to_vec(),
        };
        Individual::new(vec![size as u8], None, scored, 0)
    }

    #[test]
    fn lexicase_picks_the_best_on_the_first_case_of_the_shuffled_order() {
        // Each individual is perfect on exactly one case: the parent is the one whose case
        // came first in the order, so all three are chosen, each as often as its case
        // leads — and the aggregate (tournament) favourite, 3, never is.
        let pop = vec![
            ind(&[0.0, 9.0, 9.0], 10),
            ind(&[9.0, 0.0, 9.0], 11),
            ind(&[9.0, 9.0, 0.0], 12),
            ind(&[5.0, 5.0, 5.0], 1),
        ];
        let lex = Lexicase::new(&pop, Selection::Lexicase);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0; 4];
        for _ in 0..300 {
            let mut probe = rng.clone();
            let mut order = [0usize, 1, 2];
            for i in (1..3).rev() {
                let j = probe.random_range(0..=i);
                order.swap(i, j);
            }
            let p = &pop[lex.select(&mut rng, &pop, true)];
            assert_eq!(p.fitness.size, 10 + order[0], "order {order:?}");
            counts[p.fitness.size - 10 + usize::from(p.fitness.size == 1) * 3] += 1;
        }
        assert!(counts[..3].iter().all(|&c| c > 50), "{counts:?}");
        assert_eq!(counts[3], 0);
    }

    #[test]
    fn size_is_the_last_case_and_epsilon_widens_the_filter() {
        let pop = vec![
            ind(&[0.0, 0.0], 20),
            ind(&[0.0, 0.0], 7),
            ind(&[1.0, 0.5], 3),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..20 {
            let lex = Lexicase::new(&pop, Selection::Lexicase);
            assert_eq!(pop[lex.select(&mut rng, &pop, true)].fitness.size, 7);
        }
        // Errors per case 0,0,1 and 0,0,0.5: the MAD is 0 for both, so epsilon-lexicase
        // agrees here; with a wider spread the tolerance lets the smallest through.
        let spread = vec![
            ind(&[0.0], 20),
            ind(&[1.0], 3),
            ind(&[4.0], 9),
            ind(&[8.0], 5),
        ];
        let eps = epsilons(&spread, Selection::EpsilonLexicase);
        assert_eq!(eps, vec![2.0]);
        let lex = Lexicase::new(&spread, Selection::EpsilonLexicase);
        assert_eq!(spread[lex.select(&mut rng, &spread, true)].fitness.size, 3);
    }

    #[test]
    fn without_parsimony_individuals_tied_on_every_case_are_equals() {
        let pop = vec![
            ind(&[0.0, 0.0], 20),
            ind(&[0.0, 0.0], 7),
            ind(&[1.0, 0.5], 3),
        ];
        let lex = Lexicase::new(&pop, Selection::Lexicase);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sizes = [0usize; 21];
        for _ in 0..200 {
            sizes[pop[lex.select(&mut rng, &pop, false)].fitness.size] += 1;
        }
        assert_eq!(sizes[3], 0, "the worse individual is never chosen");
        assert!(
            sizes[20] > 60 && sizes[7] > 60,
            "{} vs {}",
            sizes[20],
            sizes[7]
        );
    }

    /// Lexicase as the papers state it: filter the individuals themselves, case by case.
    fn lexicase_one_by_one(
        rng: &mut ChaCha8Rng,
        pop: &[Individual],
        epsilons: &[f64],
        parsimony: bool,
    ) -> usize {
        let mut order: Vec<usize> = (0..epsilons.len()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        let mut alive: Vec<usize> = (0..pop.len()).collect();
        let error = |i: usize, c: usize| errors(&pop[i]).get(c).copied().unwrap_or(f64::MAX);
        for &c in &order {
            let best = alive
                .iter()
                .map(|&i| error(i, c))
                .fold(f64::INFINITY, f64::min);
            alive.retain(|&i| error(i, c) <= best + epsilons[c]);
        }
        if parsimony && let Some(smallest) = alive.iter().map(|&i| pop[i].fitness.size).min() {
            alive.retain(|&i| pop[i].fitness.size == smallest);
        }
        alive[rng.random_range(0..alive.len())]
    }

    #[test]
    fn selecting_through_classes_makes_the_choices_of_filtering_one_by_one() {
        // Populations with many ties (errors from a small set, as neutral variants give),
        // every selection mode: the same parent, and the random stream left in the same
        // state, draw after draw.
        let mut draw = ChaCha8Rng::seed_from_u64(11);
        for round in 0..60 {
            let cases = draw.random_range(1..12);
            let size = draw.random_range(2..80);
            let pop: Vec<Individual> = (0..size)
                .map(|_| {
                    let errs: Vec<f64> = (0..cases)
                        .map(|_| f64::from(draw.random_range(0..4u8)) * 1.5)
                        .collect();
                    ind(&errs, draw.random_range(1..6))
                })
                .collect();
            for selection in [Selection::Lexicase, Selection::EpsilonLexicase] {
                let lex = Lexicase::new(&pop, selection);
                let eps = epsilons(&pop, selection);
                for parsimony in [false, true] {
                    let mut fast = ChaCha8Rng::seed_from_u64(round);
                    let mut slow = fast.clone();
                    for _ in 0..50 {
                        let a = lex.select(&mut fast, &pop, parsimony);
                        let b = lexicase_one_by_one(&mut slow, &pop, &eps, parsimony);
                        assert_eq!(a, b, "round {round} {selection} {parsimony}");
                    }
                    assert_eq!(fast.random::<u64>(), slow.random::<u64>());
                }
            }
        }
    }
}
