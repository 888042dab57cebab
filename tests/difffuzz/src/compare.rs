//! What "agree" means, the kinds of disagreement, and the differences the README documents
//! as deliberate.

/// One parser's answer, read back from a canonical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted(String),
    Rejected { line: usize, message: String },
    Panicked(String),
}

impl Outcome {
    pub(crate) fn from_line(line: &str) -> Outcome {
        if let Some(rest) = line.strip_prefix("E ") {
            let (number, message) = rest.split_once(' ').unwrap_or((rest, ""));
            return Outcome::Rejected {
                line: number.parse().unwrap_or(0),
                message: message.to_owned(),
            };
        }
        if let Some(rest) = line.strip_prefix("P ") {
            return Outcome::Panicked(rest.to_owned());
        }
        Outcome::Accepted(line.to_owned())
    }
}

/// How two answers relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Verdict {
    AgreeAccept,
    AgreeReject,
    /// Both reject, at another line or with other words.
    ErrorDiffers,
    /// The reference accepts, cairn rejects.
    OnlyReferenceAccepts,
    /// cairn accepts, the reference rejects.
    OnlyCairnAccepts,
    /// Both accept, with different families.
    FamiliesDiffer,
    /// Either parser panicked.
    Panic,
}

impl Verdict {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::AgreeAccept => "agree-accept",
            Verdict::AgreeReject => "agree-reject",
            Verdict::ErrorDiffers => "error-differs",
            Verdict::OnlyReferenceAccepts => "only-reference-accepts",
            Verdict::OnlyCairnAccepts => "only-cairn-accepts",
            Verdict::FamiliesDiffer => "families-differ",
            Verdict::Panic => "panic",
        }
    }

    pub(crate) fn is_agreement(self) -> bool {
        matches!(self, Verdict::AgreeAccept | Verdict::AgreeReject)
    }
}

pub(crate) fn verdict(reference: &Outcome, cairn: &Outcome) -> Verdict {
    match (reference, cairn) {
        (Outcome::Panicked(_), _) | (_, Outcome::Panicked(_)) => Verdict::Panic,
        (Outcome::Accepted(a), Outcome::Accepted(b)) if a == b => Verdict::AgreeAccept,
        (Outcome::Accepted(_), Outcome::Accepted(_)) => Verdict::FamiliesDiffer,
        (Outcome::Accepted(_), Outcome::Rejected { .. }) => Verdict::OnlyReferenceAccepts,
        (Outcome::Rejected { .. }, Outcome::Accepted(_)) => Verdict::OnlyCairnAccepts,
        (a, b) if a == b => Verdict::AgreeReject,
        _ => Verdict::ErrorDiffers,
    }
}

/// A deliberate difference, listed in the README under "Differences from the reference
/// parser" with the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Documented {
    /// Help text must be valid UTF-8: cairn rejects the line; the reference keeps the bytes
    /// (and fails, if at all, at a later line).
    HelpNotUtf8,
}

impl Documented {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Documented::HelpNotUtf8 => "help text must be UTF-8",
        }
    }
}

/// Which documented difference explains a disagreement, if any.
pub(crate) fn documented(reference: &Outcome, cairn: &Outcome) -> Option<Documented> {
    let Outcome::Rejected { line, message } = cairn else {
        return None;
    };
    // cairn's own message, at a line the reference got past.
    let reference_got_past = match reference {
        Outcome::Accepted(_) => true,
        Outcome::Rejected {
            line: reference_line,
            ..
        } => reference_line > line,
        Outcome::Panicked(_) => false,
    };
    if reference_got_past
        && message.starts_with("help\\x20text\\x20")
        && message.ends_with("\\x20is\\x20not\\x20valid\\x20UTF-8")
    {
        return Some(Documented::HelpNotUtf8);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(line: &str) -> Outcome {
        Outcome::from_line(line)
    }

    #[test]
    fn verdicts_tell_accept_reject_and_families_apart() {
        let a = outcome("A|F m - UNTYPED|M {} - U 3ff0000000000000");
        let b = outcome("A|F m - UNTYPED|M {} - U 4000000000000000");
        let e1 = outcome("E 1 invalid\\x20metric\\x20name");
        let e2 = outcome("E 2 invalid\\x20metric\\x20name");
        assert_eq!(verdict(&a, &a), Verdict::AgreeAccept);
        assert_eq!(verdict(&a, &b), Verdict::FamiliesDiffer);
        assert_eq!(verdict(&a, &e1), Verdict::OnlyReferenceAccepts);
        assert_eq!(verdict(&e1, &a), Verdict::OnlyCairnAccepts);
        assert_eq!(verdict(&e1, &e1), Verdict::AgreeReject);
        assert_eq!(verdict(&e1, &e2), Verdict::ErrorDiffers);
        assert_eq!(verdict(&a, &outcome("P boom")), Verdict::Panic);
    }

    #[test]
    fn invalid_utf8_help_is_documented_only_where_the_reference_got_past_it() {
        let cairn =
            outcome("E 2 help\\x20text\\x20\\x22\\x5cxa9\\x22\\x20is\\x20not\\x20valid\\x20UTF-8");
        assert_eq!(
            documented(&outcome("A"), &cairn),
            Some(Documented::HelpNotUtf8)
        );
        assert_eq!(
            documented(&outcome("E 3 invalid\\x20metric\\x20name"), &cairn),
            Some(Documented::HelpNotUtf8)
        );
        assert_eq!(
            documented(&outcome("E 1 invalid\\x20metric\\x20name"), &cairn),
            None
        );
        assert_eq!(
            documented(&outcome("E 2 invalid\\x20metric\\x20name"), &cairn),
            None
        );
        assert_eq!(
            documented(&outcome("A"), &outcome("E 2 invalid\\x20metric\\x20name")),
            None
        );
    }
}
