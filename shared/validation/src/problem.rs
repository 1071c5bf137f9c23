use serde::{Deserialize, Serialize};

/// One thing wrong with a request, and where: `path` is a JSON pointer into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one document, up to [`Problems::CAP`]; `capped` says more were left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub list: Vec<Problem>,
    pub capped: bool,
}

impl Problems {
    /// Enough to fix a document in a few rounds; beyond this a response would only grow.
    pub const CAP: usize = 100;

    pub fn push(&mut self, problem: Problem) {
        if self.list.len() < Self::CAP {
            self.list.push(problem);
        } else {
            self.capped = true;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn into_result(mut self) -> Result<(), Problems> {
        if self.list.is_empty() {
            return Ok(());
        }
        // Document order reads best: the schema reports by keyword, not by position.
        self.list.sort_by(|a, b| pointer_order(&a.path, &b.path));
        self.list.dedup();
        Err(self)
    }

    /// A one-line summary for the `message` of the error response.
    pub fn summary(&self) -> String {
        let n = self.list.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        if self.capped {
            format!("The envelope is invalid: showing the first {n} {noun}; more were found and left out")
        } else {
            format!("The envelope is invalid: {n} {noun} found")
        }
    }
}

/// Orders JSON pointers segment by segment, array indices numerically.
fn pointer_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u64, String)> {
        s.split('/')
            .map(|seg| match seg.parse::<u64>() {
                Ok(n) => (n, String::new()),
                Err(_) => (u64::MAX, seg.to_owned()),
            })
            .collect()
    };
    key(a).cmp(&key(b))
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn pointer_join(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}
