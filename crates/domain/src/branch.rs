//! The predefined branches (supermarkets) of the chain.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The id of a branch that exists in the predefined list, such as `SMKT001`.
///
/// Only [`Branches::parse`] (or [`BranchId::new_unchecked`] in code that reads
/// ids the database already vouches for) makes one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BranchId(Arc<str>);

impl BranchId {
    /// For ids read back from storage, where the foreign key already holds.
    pub fn new_unchecked(id: &str) -> BranchId {
        BranchId(Arc::from(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BranchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub id: BranchId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BranchError {
    #[error("unknown branch `{0}`")]
    Unknown(String),
    #[error("`{0}` is not a valid branch id: use 1 to 32 capital letters, digits, `-` or `_`")]
    BadId(String),
    #[error("branch `{0}` is listed twice")]
    Duplicate(String),
    #[error("branch `{0}` has an empty name")]
    EmptyName(String),
}

/// The predefined list of branches. Every purchase names one of them.
#[derive(Clone, Debug, Default)]
pub struct Branches {
    by_id: BTreeMap<Box<str>, Branch>,
}

impl Branches {
    /// Builds the list, checking the ids' shape, unique ids and non-empty names.
    pub fn new(
        branches: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Branches, BranchError> {
        let mut by_id = BTreeMap::new();
        for (id, name) in branches {
            if !is_valid_branch_id(&id) {
                return Err(BranchError::BadId(id));
            }
            if name.trim().is_empty() {
                return Err(BranchError::EmptyName(id));
            }
            let branch = Branch {
                id: BranchId(Arc::from(id.as_str())),
                name: name.trim().to_owned(),
            };
            if by_id.insert(id.clone().into_boxed_str(), branch).is_some() {
                return Err(BranchError::Duplicate(id));
            }
        }
        Ok(Branches { by_id })
    }

    /// The branch named by `id`, exactly as written (ids are case-sensitive).
    pub fn parse(&self, id: &str) -> Result<&BranchId, BranchError> {
        self.by_id
            .get(id)
            .map(|b| &b.id)
            .ok_or_else(|| BranchError::Unknown(id.to_owned()))
    }

    pub fn get(&self, id: &str) -> Option<&Branch> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Branch> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// [`is_valid_branch_id`] as a regular expression, for API documents.
pub const BRANCH_ID_PATTERN: &str = "^[A-Z0-9_-]{1,32}$";

/// Branch ids are short upper-case codes like `SMKT001`.
pub fn is_valid_branch_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Branches {
        Branches::new([
            ("SMKT001".to_owned(), "Central".to_owned()),
            ("SMKT002".to_owned(), "North".to_owned()),
            ("SMKT003".to_owned(), "South".to_owned()),
        ])
        .unwrap()
    }

    #[test]
    fn known_branches_parse_and_others_do_not() {
        let branches = three();
        assert_eq!(branches.parse("SMKT002").unwrap().as_str(), "SMKT002");
        assert_eq!(
            branches.parse("SMKT004"),
            Err(BranchError::Unknown("SMKT004".into()))
        );
        assert_eq!(
            branches.parse("smkt001"),
            Err(BranchError::Unknown("smkt001".into()))
        );
        assert_eq!(branches.len(), 3);
    }

    #[test]
    fn the_list_itself_is_checked() {
        let dup = Branches::new([("A".into(), "x".into()), ("A".into(), "y".into())]);
        assert_eq!(dup.unwrap_err(), BranchError::Duplicate("A".into()));
        assert!(matches!(
            Branches::new([("bad id".into(), "x".into())]),
            Err(BranchError::BadId(_))
        ));
        assert!(matches!(
            Branches::new([("A".into(), " ".into())]),
            Err(BranchError::EmptyName(_))
        ));
    }
}
