//! The error of the pipeline: what went wrong, and of which kind. Only the faces turn the kind
//! into something else: the command line into an exit code, the daemon into an HTTP status.

use tollgate_store::StoreError;

/// Whose mistake it is, as far as the program can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// What was asked cannot be done as asked: bad usage, a bad config, a store URL we cannot
    /// open. Retrying the same thing will not help.
    Usage,
    /// Something failed while doing what was asked: a source, the store, a file.
    Runtime,
}

/// An error with its kind. `{}` shows the whole chain of causes.
#[derive(Debug)]
pub struct Error {
    /// Usage or runtime.
    pub kind: ErrorKind,
    /// What went wrong, with its causes.
    pub error: anyhow::Error,
}

impl Error {
    /// A usage error: `what` is wrong with the request or the config.
    pub fn usage(what: impl Into<anyhow::Error>) -> Error {
        Error {
            kind: ErrorKind::Usage,
            error: what.into(),
        }
    }

    /// A runtime error.
    pub fn runtime(what: impl Into<anyhow::Error>) -> Error {
        Error {
            kind: ErrorKind::Runtime,
            error: what.into(),
        }
    }
}

/// Config errors and store URLs are usage errors; everything else happened at run time.
impl<E: Into<anyhow::Error>> From<E> for Error {
    fn from(e: E) -> Self {
        let error = e.into();
        let usage = error.downcast_ref::<crate::config::ConfigError>().is_some()
            || matches!(
                error.downcast_ref::<StoreError>(),
                Some(StoreError::Url(..))
            );
        Error {
            kind: if usage {
                ErrorKind::Usage
            } else {
                ErrorKind::Runtime
            },
            error,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}
