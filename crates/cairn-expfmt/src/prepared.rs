//! Bytes written once with gaps, then copied around what each use puts in the gaps: the
//! shape of a sample line or series key that many series share.

/// Bytes with gaps, each filled anew by every [`Prepared::write`].
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    /// The bytes without what goes in the gaps; appended to, never shortened (a gap past
    /// the end is written as if it were at the end).
    pub fixed: Vec<u8>,
    /// Where each gap is in `fixed`, in order.
    gaps: Vec<usize>,
}

impl Prepared {
    /// Leaves a gap at the end of the bytes written so far.
    pub fn gap(&mut self) {
        self.gaps.push(self.fixed.len());
    }

    /// Appends the bytes with `fills` in the gaps, in order (missing ones are left
    /// empty), each written by `fill`.
    pub fn write<'a>(
        &self,
        out: &mut Vec<u8>,
        fills: impl IntoIterator<Item = &'a str>,
        fill: impl Fn(&mut Vec<u8>, &str),
    ) {
        let mut from = 0;
        for (&at, text) in self.gaps.iter().zip(fills) {
            let at = at.clamp(from, self.fixed.len());
            out.extend_from_slice(&self.fixed[from..at]);
            fill(out, text);
            from = at;
        }
        out.extend_from_slice(&self.fixed[from..]);
    }
}

#[cfg(test)]
mod tests {
    use super::Prepared;

    fn upper(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(text.to_uppercase().as_bytes());
    }

    #[test]
    fn gaps_are_filled_in_order_and_missing_fills_left_empty() {
        let mut prepared = Prepared::default();
        prepared.fixed.extend_from_slice(b"a=");
        prepared.gap();
        prepared.fixed.extend_from_slice(b",b=");
        prepared.gap();
        prepared.fixed.push(b';');
        let mut out = Vec::new();
        prepared.write(&mut out, ["x", "y"], upper);
        prepared.write(&mut out, ["z"], upper);
        assert_eq!(out, b"a=X,b=Y;a=Z,b=;");
        // Shortened against the rule: wrong bytes, but no panic.
        prepared.fixed.truncate(1);
        out.clear();
        prepared.write(&mut out, ["x", "y"], upper);
        assert_eq!(out, b"aXY");
    }
}
