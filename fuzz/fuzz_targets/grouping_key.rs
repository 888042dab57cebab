//! Grouping-key path parser: never panics, and an accepted key written as an all-base64
//! path names the same group again.

#![no_main]

use cairn::{GroupingKey, NameScheme};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for scheme in [NameScheme::Legacy, NameScheme::Utf8] {
        let Ok(key) = GroupingKey::from_path(data, scheme) else {
            continue;
        };
        let path = key.to_base64_path(scheme);
        match GroupingKey::from_path(path.as_bytes(), scheme) {
            Ok(again) => assert!(
                again == key,
                "{scheme:?}: {path:?} names {again:?}, not {key:?}"
            ),
            Err(e) => panic!("{scheme:?}: {path:?} (from {key:?}) rejected: {e}"),
        }
    }
});
