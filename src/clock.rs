//! The widget's one clock: the time a try-on reads, the waits it sleeps and the background tasks it runs; the browser's own in the page, a driven one in tests.
//!
//! The flow reads the time for its deadline and sleeps between quiet polls, and the dialog
//! counts the seconds a try-on has waited. All of that goes through a [`Clock`], so that a
//! test can hand the dialog a clock it drives ([`Clock::driven`]): time then stands still
//! until the test moves it, a poll schedule runs without real waits, and a test can tell
//! when every background task of a try-on has ended instead of guessing with a sleep.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A future of the browser's single thread.
pub type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// What a clock that a test drives provides in place of the browser's.
pub trait Drive {
    /// Milliseconds on this clock; only differences between readings mean anything.
    fn now_ms(&self) -> f64;
    /// A future that completes once this clock has moved `ms` milliseconds on from now.
    fn sleep(&self, ms: u32) -> LocalFuture;
    /// Runs `task` in the background (the clock may count it, to know when all have ended).
    fn spawn(&self, task: LocalFuture);
}

/// The clock a dialog and its try-ons run on: the browser's unless a test drives one.
/// Cheap to clone; clones share the same time.
#[derive(Clone, Default)]
pub struct Clock {
    driven: Option<Rc<dyn Drive>>,
}

impl Clock {
    /// The browser's own time, timers and task queue.
    pub fn browser() -> Clock {
        Clock::default()
    }

    /// A clock that `drive` moves, for tests.
    pub fn driven(drive: Rc<dyn Drive>) -> Clock {
        Clock {
            driven: Some(drive),
        }
    }

    /// Milliseconds now: the Unix time in the browser, whatever the driver says otherwise.
    pub fn now_ms(&self) -> f64 {
        match &self.driven {
            Some(drive) => drive.now_ms(),
            None => js_sys::Date::now(),
        }
    }

    /// Waits `ms` milliseconds of this clock.
    pub async fn sleep(&self, ms: u32) {
        match &self.driven {
            Some(drive) => drive.sleep(ms).await,
            None => gloo_timers::future::TimeoutFuture::new(ms).await,
        }
    }

    /// Runs `task` in the background on the page's single thread.
    pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        match &self.driven {
            Some(drive) => drive.spawn(Box::pin(task)),
            None => leptos::task::spawn_local(task),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self.driven {
            Some(_) => "Clock::driven",
            None => "Clock::browser",
        })
    }
}

/// Two clocks are the same when both are the browser's or both share one driver.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.driven, &other.driven) {
            (None, None) => true,
            (Some(one), Some(other)) => Rc::ptr_eq(one, other),
            _ => false,
        }
    }
}

impl Eq for Clock {}
