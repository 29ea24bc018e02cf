//! Pure logic of the console: no DOM, no signals, unit-tested on the host.

pub mod audit;
pub mod debounce;
pub mod diff;
pub mod format;
pub mod forms;
pub mod grants;
