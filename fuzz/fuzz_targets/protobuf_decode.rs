//! Protobuf decoders: arbitrary bytes give families or a typed error, never a panic, and
//! never an allocation beyond the caps of `ProtoLimits`.

#![no_main]

use cairn_expfmt::{ProtoLimits, PushLimits, decode_delimited, decode_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ProtoLimits::default();
    let _ = decode_delimited(data, &limits);
    let _ = decode_message(data, &limits);
    // Small caps, so inputs reach the limit checks too.
    let tight = ProtoLimits {
        message_bytes_max: 64,
        push: PushLimits {
            series_max: 4,
            labels_per_series_max: 2,
            metric_name_bytes_max: 8,
            label_name_bytes_max: 4,
            label_value_bytes_max: 8,
            grouping_bytes_max: usize::MAX,
        },
    };
    let _ = decode_delimited(data, &tight);
    let _ = decode_message(data, &tight);
});
