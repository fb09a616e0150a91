//! Pictures from the command line: `pxos plot LOG... -o PNG` (the fitness chart of one or
//! more `pxos evolve --log` files), `pxos evolve --plot PNG` ([`after_evolve`]) and
//! `pxos versions tree --dot` / `--png` ([`lineage_of`] turns a store's history into the
//! plain tree the drawing takes; the drawing itself never sees the store). Every output
//! is checked to be writable before any work, and written whole or not at all.

use anyhow::{Context, Result};
use clap::Args;
use pxos::store::{Db, EventKind, Index, Status};
use pxos::tools::evolve::GenerationLog;
use pxos::tools::plot::{self, ChartOptions, Lineage, Mark, Run, Version, VersionStatus, chart};
use pxos::util::userfile;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Logs written by `pxos evolve --log` (one JSON line per generation); several are
    /// drawn on one chart, each in its colour, named after its file in the legend.
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// The PNG picture to write.
    #[arg(short, long, value_name = "PNG")]
    out: PathBuf,
    /// The chart's title [default: "Evolution of LOG"].
    #[arg(long)]
    title: Option<String>,
    /// Width in pixels, 480 to 8,000 [default: 1200].
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(chart::MIN_SIZE.0)..=i64::from(chart::MAX_SIZE.0)))]
    width: Option<u32>,
    /// Height in pixels, 360 to 8,000 [default: 900].
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(chart::MIN_SIZE.1)..=i64::from(chart::MAX_SIZE.1)))]
    height: Option<u32>,
}

/// The legend's name of each log: its file name, or the path as given where two logs
/// share a file name.
fn names(logs: &[PathBuf]) -> Vec<String> {
    let file_name = |p: &PathBuf| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let mut seen = HashSet::new();
    let repeated: HashSet<String> = logs
        .iter()
        .map(file_name)
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    logs.iter()
        .map(|p| {
            let n = file_name(p);
            if repeated.contains(&n) {
                p.display().to_string()
            } else {
                n
            }
        })
        .collect()
}

pub fn plot(args: PlotArgs) -> Result<ExitCode> {
    let logs: Vec<(&str, &Path)> = args.logs.iter().map(|l| ("the log", l.as_path())).collect();
    userfile::check_distinct(&[("-o", &args.out)], &logs)?;
    userfile::check_output(&args.out).context("-o")?;
    let mut runs = Vec::new();
    for (log, name) in args.logs.iter().zip(names(&args.logs)) {
        runs.extend(plot::read_log(log, &name)?);
    }
    let defaults = ChartOptions::default();
    let options = ChartOptions {
        width: args.width.unwrap_or(defaults.width),
        height: args.height.unwrap_or(defaults.height),
        title: args.title,
    };
    let png = plot::fitness_png(&runs, &options)?;
    userfile::write_output(&args.out, &png)?;
    let generations: usize = runs.iter().map(|r| r.points.len()).sum();
    println!(
        "wrote {} ({}x{}): {} run(s), {} generation(s)",
        args.out.display(),
        options.width,
        options.height,
        runs.len(),
        generations
    );
    Ok(ExitCode::SUCCESS)
}

/// `pxos evolve --plot PNG`, at the end of the run: the chart of the experiment, from its
/// `--log` when there is one (it also holds the generations a resumed run did before this
/// process: the log's last run is drawn), else from `lines`, the generations this process
/// ran. With no generation at all, a warning and no picture.
pub fn after_evolve(
    png: userfile::PreparedOutput,
    log: Option<&Path>,
    lines: &[GenerationLog],
    title: String,
) -> Result<()> {
    let run = match log {
        Some(path) if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) => {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            plot::read_log(path, &name)?.pop()
        }
        _ => Some(Run::from_lines("pxos evolve", lines)),
    };
    let Some(mut run) = run.filter(|r| !r.points.is_empty()) else {
        eprintln!(
            "pxos: warning: --plot: no generation ran, so {} was not drawn",
            png.path().display()
        );
        return Ok(());
    };
    if log.is_none() {
        run.name = title.clone();
    }
    let options = ChartOptions {
        title: Some(title),
        ..ChartOptions::default()
    };
    let bytes = plot::fitness_png(&[run], &options).context("--plot")?;
    png.write(&bytes).context("--plot")?;
    Ok(())
}

/// A store's history as the plain tree the lineage pictures draw: every version with
/// its parent, status, whether it is current and whether it was promoted (the target of
/// a canary's promotion, or installed by `pxos evolve --promote`).
pub fn lineage_of(db: &Db) -> Lineage {
    let index = Index::new(db);
    let promoted: HashSet<u64> = db
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Promoted)
        .filter_map(|e| e.to_id)
        .collect();
    Lineage {
        versions: db
            .history
            .iter()
            .map(|e| Version {
                id: e.id,
                parent: index.parent_of(e).map(|p| p.id),
                name: e.version.clone(),
                status: match e.status {
                    Status::Good => VersionStatus::Good,
                    Status::Probation => VersionStatus::Probation,
                    Status::Bad => VersionStatus::Bad,
                    Status::Missing => VersionStatus::Missing,
                },
                mark: Mark {
                    current: db.current_id == Some(e.id),
                    promoted: promoted.contains(&e.id)
                        || e.origin
                            .as_deref()
                            .is_some_and(|o| o.starts_with("pxos evolve --promote")),
                },
            })
            .collect(),
    }
}

/// `pxos versions tree --dot` / `--png OUT` for the store at `root` (already opened as `db`).
pub fn lineage_picture(db: &Db, root: &Path, dot: bool, png: Option<&Path>) -> Result<()> {
    let lineage = lineage_of(db);
    let collapsed = lineage.collapse();
    let title = format!("Lineage of {}", root.display());
    if dot {
        print!("{}", collapsed.dot(&title));
    }
    if let Some(out) = png {
        let bytes = plot::lineage_png(&collapsed, &title)?;
        userfile::write_output(out, &bytes)?;
        println!(
            "wrote {}: {} versions in {} boxes",
            out.display(),
            collapsed.versions(),
            collapsed.nodes.len()
        );
    }
    Ok(())
}
