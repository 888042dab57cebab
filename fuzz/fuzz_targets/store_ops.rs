//! Store operations over the in-memory file system with injected I/O failures: nothing
//! panics, and after power loss (`CrashKeeps::Nothing`) the files always open again. When
//! no failure was injected, the reopened store holds exactly what the store held. An
//! exposition taken between operations writes the same bytes after every later operation
//! as when it was taken (the scrape's view is copy-on-write).
//!
//! Input: a sequence of operations, each an opcode byte followed by its arguments (missing
//! bytes read as 0): push (PUT or POST) with a key byte, a length byte and that many bytes
//! of text body; delete with a key byte; wipe; snapshot; fail the `n`th file operation from
//! now, once. A first byte of 0xFF runs the store with UTF-8 names
//! (`--push.enable-utf8-names`): keys and bodies are read under that scheme, so two of the
//! keys hold `U__`-escaped names (one of them the reserved `__n`).

#![no_main]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cairn::persist::{CrashKeeps, FaultFs, PersistOptions, Unreadable};
use cairn::{GroupingKey, NameScheme, PushMode, ScrapeFormat, Store, StoreConfig, parse_text};
use libfuzzer_sys::fuzz_target;

const SNAPSHOT: &str = "/data/store.cairn";

/// Grouping keys the operations choose from: a few, so that pushes and deletes meet.
const KEYS: [&[u8]; 6] = [
    b"job/a",
    b"job/a/instance/x",
    b"job/b/instance/x",
    b"job/b/instance@base64/",
    b"job/a/U______n/x",
    b"job/b/U__a_2e_b/x",
];

/// Most operations per input, so each run stays fast.
const OPS_MAX: usize = 64;

struct Input<'a>(&'a [u8], NameScheme);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }

    fn key(&mut self) -> GroupingKey {
        let path = KEYS[usize::from(self.byte()) % KEYS.len()];
        GroupingKey::from_path(path, self.1).expect("the keys are valid")
    }
}

fuzz_target!(|data: &[u8]| {
    let (scheme, data) = match data.split_first() {
        Some((0xFF, rest)) => (NameScheme::Utf8, rest),
        _ => (NameScheme::Legacy, data),
    };
    let config = StoreConfig {
        name_scheme: scheme,
        ..StoreConfig::default()
    };
    let fs = FaultFs::new();
    let options = || PersistOptions {
        path: SNAPSHOT.into(),
        fs: Arc::new(fs.clone()),
        unreadable: Unreadable::Refuse,
    };
    let (store, _) = Store::open(config, options()).expect("empty store opens");

    let mut input = Input(data, scheme);
    let mut faulted = false;
    let mut views = Vec::new();
    for step in 0..OPS_MAX {
        if input.0.is_empty() {
            break;
        }
        if step % 3 == 0
            && let Ok(view) = store.exposition(&[])
        {
            let mut seen = Vec::new();
            view.write(ScrapeFormat::Text, &mut seen);
            views.push((view, seen));
        }
        // A clock that moves, so push times differ between steps.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + step as u64);
        match input.byte() % 6 {
            op @ (0 | 1) => {
                let mode = if op == 0 {
                    PushMode::Replace
                } else {
                    PushMode::Merge
                };
                let key = input.key();
                let length = usize::from(input.byte());
                let body = input.bytes(length);
                if let Ok(families) = parse_text(body, scheme) {
                    let _ = store.push(key, mode, families, now);
                }
            }
            2 => {
                let key = input.key();
                let _ = store.delete(&key);
            }
            3 => {
                let _ = store.wipe();
            }
            4 => {
                let _ = store.snapshot();
            }
            _ => {
                fs.fail_once(u64::from(input.byte() % 16));
                faulted = true;
            }
        }
    }

    for (view, seen) in &views {
        let mut again = Vec::new();
        view.write(ScrapeFormat::Text, &mut again);
        assert_eq!(&again, seen, "an exposition changed after it was taken");
    }
    drop(views);
    let before = render(&store);
    drop(store);
    fs.crash(CrashKeeps::Nothing);
    let (store, _) = Store::open(config, options())
        .unwrap_or_else(|e| panic!("reopening after a crash failed: {e}"));
    if !faulted {
        assert_eq!(
            render(&store),
            before,
            "an acknowledged change was lost or one appeared"
        );
    }
});

/// The scrape as text.
fn render(store: &Store) -> String {
    let mut out = Vec::new();
    match store.render(ScrapeFormat::Text, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("scrape error: {e}"),
    }
}
