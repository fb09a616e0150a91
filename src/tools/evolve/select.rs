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

/// One lexicase parent. `epsilons` has one tolerance per case (see [`epsilons`]); with
/// `parsimony`, size is the last case.
pub fn lexicase<'p>(
    rng: &mut ChaCha8Rng,
    pop: &'p [Individual],
    epsilons: &[f64],
    parsimony: bool,
) -> &'p Individual {
    let mut order: Vec<usize> = (0..epsilons.len()).collect();
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    let mut alive: Vec<usize> = (0..pop.len()).collect();
    let error = |i: usize, c: usize| errors(&pop[i]).get(c).copied().unwrap_or(f64::MAX);
    for &c in &order {
        if alive.len() <= 1 {
            break;
        }
        let best = alive
            .iter()
            .map(|&i| error(i, c))
            .fold(f64::INFINITY, f64::min);
        alive.retain(|&i| error(i, c) <= best + epsilons[c]);
    }
    if parsimony && let Some(smallest) = alive.iter().map(|&i| pop[i].fitness.size).min() {
        alive.retain(|&i| pop[i].fitness.size == smallest);
    }
    &pop[alive[rng.random_range(0..alive.len())]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::evolve::goal::Fitness;
    use rand::SeedableRng;

    fn ind(errors: &[f64], size: usize) -> Individual {
        Individual {
            genome: vec![size as u8],
            fitness: Fitness {
                error: errors.iter().sum(),
                cycles: 0,
                size,
            },
            born: 0,
            errors: errors.to_vec(),
        }
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
        let eps = epsilons(&pop, Selection::Lexicase);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0; 4];
        for _ in 0..300 {
            let mut probe = rng.clone();
            let mut order = [0usize, 1, 2];
            for i in (1..3).rev() {
                let j = probe.random_range(0..=i);
                order.swap(i, j);
            }
            let p = lexicase(&mut rng, &pop, &eps, true);
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
            let eps = epsilons(&pop, Selection::Lexicase);
            assert_eq!(lexicase(&mut rng, &pop, &eps, true).fitness.size, 7);
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
        assert_eq!(lexicase(&mut rng, &spread, &eps, true).fitness.size, 3);
    }

    #[test]
    fn without_parsimony_individuals_tied_on_every_case_are_equals() {
        let pop = vec![
            ind(&[0.0, 0.0], 20),
            ind(&[0.0, 0.0], 7),
            ind(&[1.0, 0.5], 3),
        ];
        let eps = epsilons(&pop, Selection::Lexicase);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sizes = [0usize; 21];
        for _ in 0..200 {
            sizes[lexicase(&mut rng, &pop, &eps, false).fitness.size] += 1;
        }
        assert_eq!(sizes[3], 0, "the worse individual is never chosen");
        assert!(
            sizes[20] > 60 && sizes[7] > 60,
            "{} vs {}",
            sizes[20],
            sizes[7]
        );
    }
}
