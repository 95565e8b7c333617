//! What went wrong setting up or removing a resource, for callers that report rather than
//! panic (the load generator, explicit clean-ups).

use std::fmt;

/// A failed set-up or clean-up step: what was being done, and why it failed.
#[derive(Debug)]
pub struct Error {
    doing: String,
    cause: String,
}

impl Error {
    pub(crate) fn new(doing: impl Into<String>, cause: impl fmt::Display) -> Error {
        Error {
            doing: doing.into(),
            cause: cause.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.doing, self.cause)
    }
}

impl std::error::Error for Error {}
