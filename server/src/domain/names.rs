//! Sign-in names are compared after Unicode NFKC normalization and case folding, so that
//! "ALICE", "alice" and "ａｌｉｃｅ" (full-width) are one name in a namespace. The folding
//! defines the `*_key` columns, so it lives with the storage ([`crate::db::fold`]); the
//! names are here for the rest of the crate.

pub use crate::db::{fold, prefix_upper_bound};
