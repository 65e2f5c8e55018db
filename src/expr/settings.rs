//! The session settings that change what an expression means, read when it is bound.
//!
//! Binding happens where a query is built (`select`, `filter`, SQL), on the thread that builds
//! it; the session puts its settings in place for that time with [`with_settings`], and a bound
//! expression keeps what it read (its time zone), so evaluating it on any worker needs nothing
//! more.

use std::cell::Cell;

use crate::data::datetime::Zone;

/// What binding reads from the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExprSettings {
    /// `spark.sql.session.timeZone`: where timestamps are read, shown and split into fields.
    /// UTC by default.
    pub zone: Zone,
    /// `spark.sql.ansi.enabled`: raise Spark's ANSI errors (division by zero, overflow, a
    /// malformed cast) instead of answering null. Off by default.
    pub ansi: bool,
}

thread_local! {
    static CURRENT: Cell<ExprSettings> = Cell::new(ExprSettings::default());
}

/// The settings in force on this thread (the defaults outside [`with_settings`]).
pub fn current() -> ExprSettings {
    CURRENT.with(Cell::get)
}

/// Runs `f` with `settings` in force on this thread, restoring the previous ones after (also
/// when `f` panics).
pub fn with_settings<T>(settings: ExprSettings, f: impl FnOnce() -> T) -> T {
    struct Restore(ExprSettings);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(settings)));
    f()
}
