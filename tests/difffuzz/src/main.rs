//! Differential fuzzer: feeds generated and mutated text expositions to cairn's parser and to
//! the reference's (`gobatch`, the Go `expfmt.TextParser`), and reports every input where
//! they disagree on accept/reject, on the error, or on the parsed families.
//!
//! ```text
//! difffuzz --gobatch PATH [--count N] [--seed S] [--workers W] [--out DIR] [--saved-per-kind K]
//! difffuzz --gobatch PATH --seed S --index I     # show one input and both answers
//! ```
//!
//! Defaults: 20,000 inputs, seed 1, one worker (each has its own gobatch), `target/difffuzz`
//! (emptied first), 20 inputs saved per kind. Exits 1 if any disagreement is not one the
//! README documents as deliberate.

mod canonical;
mod compare;
mod generate;
mod reference;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cairn_expfmt::{NameScheme, parse_text};

use compare::{Documented, Outcome, Verdict, documented, verdict};
use reference::Reference;

const BATCH: u64 = 2048;

#[derive(Debug)]
struct Options {
    gobatch: PathBuf,
    count: u64,
    seed: u64,
    workers: u64,
    out: PathBuf,
    index: Option<u64>,
    /// At most this many inputs of each kind of disagreement are written to `out`.
    saved_per_kind_max: usize,
}

fn options() -> Result<Options> {
    let root = workspace_root();
    let mut options = Options {
        gobatch: std::env::var_os("GOBATCH")
            .map(PathBuf::from)
            .unwrap_or_default(),
        count: 20_000,
        seed: 1,
        workers: 1,
        out: root.join("target/difffuzz"),
        index: None,
        saved_per_kind_max: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--gobatch" => options.gobatch = value()?.into(),
            "--count" => options.count = value()?.parse()?,
            "--seed" => options.seed = value()?.parse()?,
            "--workers" => options.workers = value()?.parse::<u64>()?.max(1),
            "--out" => options.out = value()?.into(),
            "--index" => options.index = Some(value()?.parse()?),
            "--saved-per-kind" => options.saved_per_kind_max = value()?.parse()?,
            _ => bail!("unknown argument {flag:?} (see the top of tests/difffuzz/src/main.rs)"),
        }
    }
    if options.gobatch.as_os_str().is_empty() {
        bail!("--gobatch PATH (or GOBATCH) is needed: build tests/difffuzz/gobatch first");
    }
    Ok(options)
}

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The seed bodies the mutations start from: the reference's test inputs, the bodies of the
/// conformance cases, the fuzz corpus and the parser's data tests.
fn seeds() -> Result<Vec<Vec<u8>>> {
    const SEED_BYTES_MAX: u64 = 64 * 1024;
    let root = workspace_root();
    let shared = root.join("../shared");
    let mut files = Vec::new();
    for dir in [
        shared.join("testdata/expfmt"),
        shared.join("testdata/expfmt/corpus"),
        root.join("fuzz/corpus/text_parse"),
        root.join("crates/cairn-expfmt/tests/data/text"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("difffuzz: no seeds in {} (missing)", dir.display());
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_file() && !name.starts_with("protobuf") && !name.ends_with(".expected") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut seeds = Vec::new();
    for path in files {
        if std::fs::metadata(&path)?.len() <= SEED_BYTES_MAX {
            seeds.push(std::fs::read(&path)?);
        }
    }
    let cases = shared.join("conformance/cases");
    let mut case_files: Vec<PathBuf> = match std::fs::read_dir(&cases) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?,
        Err(_) => Vec::new(),
    };
    case_files.sort();
    for path in case_files {
        let case: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| path.display().to_string())?;
        let steps = case["steps"].as_array().cloned().unwrap_or_default();
        for step in steps {
            if let Some(body) = step["body"].as_str() {
                seeds.push(body.as_bytes().to_vec());
            }
        }
    }
    Ok(seeds)
}

fn cairn_line(input: &[u8]) -> String {
    match std::panic::catch_unwind(|| parse_text(input, NameScheme::Legacy)) {
        Ok(result) => canonical::canonical(&result),
        Err(_) => "P cairn's parser panicked".to_owned(),
    }
}

/// The class of a disagreement, for counting and for keeping a minimised input the same
/// disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    Agree(Verdict),
    Documented(Verdict, Documented),
    Undocumented(Verdict),
}

fn classify(reference_line: &str, cairn_line: &str) -> Class {
    let reference = Outcome::from_line(reference_line);
    let cairn = Outcome::from_line(cairn_line);
    let verdict = verdict(&reference, &cairn);
    if verdict.is_agreement() {
        return Class::Agree(verdict);
    }
    match documented(&reference, &cairn) {
        Some(difference) => Class::Documented(verdict, difference),
        None => Class::Undocumented(verdict),
    }
}

#[derive(Debug, Default)]
struct Tally {
    classes: BTreeMap<Class, u64>,
    /// How many inputs of each class were written to the output directory.
    saved: BTreeMap<Class, usize>,
    /// Accepted inputs whose families include a summary or histogram series: how much of
    /// the grouping logic the run compared.
    accepted_with_summary_or_histogram: u64,
}

/// Removes lines, then ever smaller byte ranges, while the input stays in the same class.
fn minimise(reference: &mut Reference, input: &[u8], class: Class) -> Result<Vec<u8>> {
    const CHECKS_MAX: usize = 3000;
    let checks = std::cell::Cell::new(0);
    let still = |candidate: &[u8], reference: &mut Reference| -> Result<bool> {
        checks.set(checks.get() + 1);
        Ok(classify(&reference.parse_one(candidate)?, &cairn_line(candidate)) == class)
    };
    let mut best = input.to_vec();
    // Whole lines first.
    let mut i = 0;
    loop {
        let lines: Vec<&[u8]> = best.split_inclusive(|&b| b == b'\n').collect();
        if i >= lines.len() || checks.get() > CHECKS_MAX {
            break;
        }
        let candidate: Vec<u8> = lines
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .flat_map(|(_, line)| line.iter().copied())
            .collect();
        if still(&candidate, reference)? {
            best = candidate;
        } else {
            i += 1;
        }
    }
    for chunk in [16, 8, 4, 2, 1] {
        let mut at = 0;
        while at < best.len() && checks.get() <= CHECKS_MAX {
            let end = (at + chunk).min(best.len());
            let mut candidate = best[..at].to_vec();
            candidate.extend_from_slice(&best[end..]);
            if still(&candidate, reference)? {
                best = candidate;
            } else {
                at += 1;
            }
        }
    }
    Ok(best)
}

fn class_name(class: Class) -> String {
    match class {
        Class::Agree(verdict) => verdict.name().to_owned(),
        Class::Documented(verdict, difference) => {
            format!(
                "documented-{}-{}",
                verdict.name(),
                difference.name().replace(' ', "-")
            )
        }
        Class::Undocumented(verdict) => format!("undocumented-{}", verdict.name()),
    }
}

fn save(
    options: &Options,
    reference: &mut Reference,
    index: u64,
    input: &[u8],
    lines: (&str, &str),
    class: Class,
) -> Result<()> {
    let dir = options.out.join(class_name(class));
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let minimal = minimise(reference, input, class)?;
    let minimal_lines = (reference.parse_one(&minimal)?, cairn_line(&minimal));
    std::fs::write(dir.join(format!("{index}.prom")), input)?;
    std::fs::write(dir.join(format!("{index}.min.prom")), &minimal)?;
    let report = format!(
        "seed {} index {index}\nreference: {}\ncairn:     {}\nminimised:\nreference: {}\ncairn:     {}\n",
        options.seed, lines.0, lines.1, minimal_lines.0, minimal_lines.1
    );
    std::fs::write(dir.join(format!("{index}.txt")), report)?;
    Ok(())
}

fn worker(
    options: &Options,
    seeds: &[Vec<u8>],
    worker: u64,
    tally: &Mutex<Tally>,
    done: &AtomicU64,
) -> Result<()> {
    let mut reference = Reference::start(&options.gobatch)?;
    let batches = options.count.div_ceil(BATCH);
    let mut batch = worker;
    while batch < batches {
        let indices = batch * BATCH..((batch + 1) * BATCH).min(options.count);
        let inputs: Vec<Vec<u8>> = indices
            .clone()
            .map(|i| generate::input(options.seed, i, seeds))
            .collect();
        let (theirs, ours) = reference.parse_batch(&inputs, || {
            inputs
                .iter()
                .map(|input| cairn_line(input))
                .collect::<Vec<_>>()
        })?;
        let mut counts: BTreeMap<Class, u64> = BTreeMap::new();
        let mut grouped = 0;
        for ((index, input), (theirs, ours)) in indices.zip(&inputs).zip(theirs.iter().zip(&ours)) {
            let class = classify(theirs, ours);
            *counts.entry(class).or_default() += 1;
            if class == Class::Agree(Verdict::AgreeAccept)
                && (theirs.contains(" S ") || theirs.contains(" H "))
            {
                grouped += 1;
            }
            if matches!(class, Class::Agree(_)) {
                continue;
            }
            let keep = {
                let mut tally = tally.lock().unwrap();
                let saved = tally.saved.entry(class).or_default();
                *saved += 1;
                *saved <= options.saved_per_kind_max
            };
            if keep {
                save(options, &mut reference, index, input, (theirs, ours), class)?;
            }
        }
        let mut tally = tally.lock().unwrap();
        tally.accepted_with_summary_or_histogram += grouped;
        for (class, count) in counts {
            *tally.classes.entry(class).or_default() += count;
        }
        drop(tally);
        done.fetch_add(inputs.len() as u64, Ordering::Relaxed);
        batch += options.workers;
    }
    Ok(())
}

fn show_one(options: &Options, seeds: &[Vec<u8>], index: u64) -> Result<()> {
    let input = generate::input(options.seed, index, seeds);
    let mut reference = Reference::start(&options.gobatch)?;
    let theirs = reference.parse_one(&input)?;
    let ours = cairn_line(&input);
    println!("input:     {:?}", String::from_utf8_lossy(&input));
    println!("reference: {theirs}");
    println!("cairn:     {ours}");
    println!("class:     {}", class_name(classify(&theirs, &ours)));
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("difffuzz: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the fuzzer; `Ok(false)` when there were undocumented disagreements.
fn run() -> Result<bool> {
    let options = options()?;
    let seeds = seeds()?;
    if let Some(index) = options.index {
        show_one(&options, &seeds, index)?;
        return Ok(true);
    }
    // Inputs saved by an earlier run would mix with this one's.
    if options.out.exists() {
        std::fs::remove_dir_all(&options.out)
            .with_context(|| format!("clearing {}", options.out.display()))?;
    }
    eprintln!(
        "difffuzz: {} inputs, seed {}, {} seed bodies, {} worker(s), disagreements to {}",
        options.count,
        options.seed,
        seeds.len(),
        options.workers,
        options.out.display()
    );
    let tally = Mutex::new(Tally::default());
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let (options, seeds, tally_ref, done_ref) = (&options, &seeds, &tally, &done);
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..options.workers)
            .map(|w| scope.spawn(move || worker(options, seeds, w, tally_ref, done_ref)))
            .collect();
        let mut last = 0;
        while workers.iter().any(|w| !w.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let now = done.load(Ordering::Relaxed);
            if now >= last + 100_000 {
                last = now;
                let rate = now as f64 / start.elapsed().as_secs_f64();
                eprintln!("difffuzz: {now} inputs, {rate:.0}/s");
            }
        }
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        }
        Ok(())
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let tally = tally.into_inner().unwrap();
    let total: u64 = tally.classes.values().sum();
    let count = |wanted: fn(&Class) -> bool| -> u64 {
        tally
            .classes
            .iter()
            .filter(|(class, _)| wanted(class))
            .map(|(_, n)| n)
            .sum()
    };
    let undocumented = count(|c| matches!(c, Class::Undocumented(_)));
    println!(
        "inputs: {total} (seed {}, {elapsed:.1} s, {:.0}/s)",
        options.seed,
        total as f64 / elapsed
    );
    println!(
        "agree, both accept: {}",
        count(|c| *c == Class::Agree(Verdict::AgreeAccept))
    );
    println!(
        "  with a summary or histogram: {}",
        tally.accepted_with_summary_or_histogram
    );
    println!(
        "agree, both reject: {}",
        count(|c| *c == Class::Agree(Verdict::AgreeReject))
    );
    println!(
        "documented differences: {}",
        count(|c| matches!(c, Class::Documented(..)))
    );
    for (class, n) in &tally.classes {
        if let Class::Documented(verdict, difference) = class {
            println!("  {} ({}): {n}", difference.name(), verdict.name());
        }
    }
    println!("undocumented disagreements: {undocumented}");
    for (class, n) in &tally.classes {
        if let Class::Undocumented(verdict) = class {
            println!("  {}: {n}", verdict.name());
        }
    }
    if undocumented > 0 || count(|c| matches!(c, Class::Documented(..))) > 0 {
        println!(
            "inputs (original, minimised, both answers): {}",
            options.out.display()
        );
    }
    Ok(undocumented == 0)
}
