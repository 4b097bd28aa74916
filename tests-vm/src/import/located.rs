//! What the parsers of `::memstat` and `kstat -p` text return when a
//! line is wrong: a sentence and its line. The import adds the input's
//! name and turns it into an `ImportError`.

/// A sentence about what is wrong (the parsers' half of an error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem(pub(super) String);

impl Problem {
    pub(crate) fn new(message: String) -> Problem {
        Problem(message)
    }
}

/// A problem at a line of the input being read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub(super) line: usize,
    pub(super) problem: Problem,
}

impl Located {
    pub(crate) fn at(line: usize, problem: Problem) -> Located {
        Located { line, problem }
    }
}
