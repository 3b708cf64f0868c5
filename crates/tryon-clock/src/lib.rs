//! The one clock that the proxy and the emulator read for everything they schedule, expire or rate-limit: real time in production, driven time in tests.
//!
//! Every duration the two programs wait out or compare against (task phases, the 3 h task
//! limit, the 24 h expiry, the poll schedule, rate windows, retention sweeps, the billing
//! day) goes through a [`Clock`]. [`Clock::system`] is real time and is what the binaries
//! use. A [`ManualClock`] stands still until a test moves it, so "a day later" is
//! `clock.advance(Duration::from_secs(86_400))` and takes no time at all, and a result that
//! depends on how fast the machine is cannot happen: nothing expires, times out or leaves a
//! rate window while a busy CPU is still working through the test.
//!
//! A manual clock can also be let run ([`ManualClock::resume`]): it then moves with real
//! time from where it stands, until [`ManualClock::pause`] holds it again. A test holds
//! time still while it looks at a state that real time would move on ("the third job is
//! still queued"), and lets it run where only the outcome matters.
//!
//! The manual clock also knows who is waiting on it. [`ManualClock::advance_to_next_deadline`]
//! waits until some task sleeps on the clock and then jumps exactly to the earliest moment
//! anyone waits for, which lets a test run a whole schedule (a task's phases, a poll loop)
//! without choosing step sizes that could skip past what it wants to observe.
//!
//! What is deliberately not on this clock: network timeouts (a download that hangs is a
//! real-time event) and the hang bounds of tests themselves.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// A future that completes when the clock reaches a moment.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time and of sleeps. Cheap to clone; clones read the same time.
#[derive(Clone, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Default)]
enum Source {
    /// Real time, read through Tokio so that a unit test under `tokio::time::pause` still
    /// controls it.
    #[default]
    System,
    Manual(Arc<Manual>),
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::System => f.write_str("Clock::System"),
            Source::Manual(manual) => f
                .debug_struct("Clock::Manual")
                .field("elapsed", &manual.elapsed())
                .finish(),
        }
    }
}

/// Two clocks are equal when they read the same time source.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.source, &other.source) {
            (Source::System, Source::System) => true,
            (Source::Manual(a), Source::Manual(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A clock-driven wait ran out before its future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the time limit passed")
    }
}

impl std::error::Error for Elapsed {}

impl Clock {
    /// Real time: what every binary uses.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Whether this clock is driven by a test rather than by real time.
    pub fn is_manual(&self) -> bool {
        matches!(self.source, Source::Manual(_))
    }

    /// The current monotonic moment, for durations and deadlines.
    pub fn now(&self) -> Instant {
        match &self.source {
            Source::System => tokio::time::Instant::now().into_std(),
            Source::Manual(manual) => manual.now(),
        }
    }

    /// The current calendar time, for timestamps, expiry dates and the billing day.
    pub fn wall(&self) -> SystemTime {
        match &self.source {
            Source::System => SystemTime::now(),
            Source::Manual(manual) => manual.wall_origin + manual.elapsed(),
        }
    }

    /// Milliseconds since the Unix epoch of [`Clock::wall`].
    pub fn unix_ms(&self) -> u64 {
        self.wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64)
    }

    /// Completes once the clock has reached `deadline` (at once if it already has).
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        match &self.source {
            Source::System => Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                deadline,
            ))),
            Source::Manual(manual) => Box::pin(manual_sleep(manual.clone(), deadline)),
        }
    }

    /// Completes once `duration` has passed on this clock. A duration too long to add to
    /// the current moment never completes.
    pub fn sleep(&self, duration: Duration) -> Sleep {
        match self.now().checked_add(duration) {
            Some(deadline) => self.sleep_until(deadline),
            None => Box::pin(std::future::pending()),
        }
    }

    /// Runs `future` until it finishes or `limit` passes on this clock, whichever is first.
    pub async fn timeout<F: Future>(
        &self,
        limit: Duration,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        let sleep = self.sleep(limit);
        tokio::select! {
            biased;
            output = future => Ok(output),
            () = sleep => Err(Elapsed),
        }
    }
}

/// A clock that moves only when a test moves it, or with real time while the test lets it
/// run. It starts held still. Clones drive the same time.
#[derive(Clone)]
pub struct ManualClock {
    manual: Arc<Manual>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .field("sleepers", &self.sleepers())
            .finish()
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

/// 2026-01-01 00:00:00 UTC: a fixed calendar start, so that what tests see of dates is the
/// same on every run.
pub const MANUAL_CLOCK_START_UNIX_SECS: u64 = 1_767_225_600;

impl ManualClock {
    /// A clock standing at 2026-01-01 00:00:00 UTC ([`MANUAL_CLOCK_START_UNIX_SECS`]).
    pub fn new() -> ManualClock {
        ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(MANUAL_CLOCK_START_UNIX_SECS))
    }

    /// A clock whose calendar time starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> ManualClock {
        let (reading, _) = watch::channel(Reading::default());
        let (sleepers_changed, _) = watch::channel(0);
        ManualClock {
            manual: Arc::new(Manual {
                origin: Instant::now(),
                wall_origin: wall,
                reading,
                sleepers: Mutex::default(),
                sleepers_changed,
                next_sleeper: AtomicU64::new(0),
            }),
        }
    }

    /// The [`Clock`] to hand to the code under test.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.manual.clone()),
        }
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        self.manual.elapsed()
    }

    /// Moves the clock forward by `step` and wakes everyone whose deadline it reaches.
    pub fn advance(&self, step: Duration) {
        self.manual
            .reading
            .send_modify(|reading| reading.moved += step);
    }

    /// Moves the clock forward to `moment`; a moment already passed changes nothing.
    pub fn advance_to(&self, moment: Instant) {
        let target = moment.saturating_duration_since(self.manual.origin);
        self.manual.reading.send_if_modified(|reading| {
            let now = reading.elapsed();
            let later = target > now;
            if later {
                reading.moved += target - now;
            }
            later
        });
    }

    /// Lets the clock run with real time from where it stands.
    pub fn resume(&self) {
        self.manual.reading.send_if_modified(|reading| {
            let held = reading.running_since.is_none();
            if held {
                reading.running_since = Some(Instant::now());
            }
            held
        });
    }

    /// Holds the clock still where it stands.
    pub fn pause(&self) {
        self.manual.reading.send_if_modified(|reading| {
            let Some(since) = reading.running_since.take() else {
                return false;
            };
            reading.moved += since.elapsed();
            true
        });
    }

    /// Whether the clock is running with real time.
    pub fn is_running(&self) -> bool {
        self.manual.reading.borrow().running_since.is_some()
    }

    /// How many sleeps are waiting on this clock right now.
    pub fn sleepers(&self) -> usize {
        self.manual.lock_sleepers().len()
    }

    /// The earliest moment a sleep waits for that the clock has not reached yet.
    pub fn next_deadline(&self) -> Option<Instant> {
        let now = self.manual.now();
        self.manual
            .lock_sleepers()
            .values()
            .copied()
            .filter(|deadline| *deadline > now)
            .min()
    }

    /// Waits (in real time, unbounded: the caller bounds it) until at least `count` sleeps
    /// wait on the clock.
    pub async fn until_sleepers(&self, count: usize) {
        let mut changes = self.manual.sleepers_changed.subscribe();
        while self.sleepers() < count {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits (in real time, unbounded: the caller bounds it) until at least `count` sleeps
    /// wait for moments still ahead. Right after a move, the sleeps it ended may not have
    /// noticed yet; once every party that woke has gone back to sleep, this returns, which
    /// is how a test knows that a periodic task has done what the move made due.
    pub async fn until_waiting_ahead(&self, count: usize) {
        let mut changes = self.manual.sleepers_changed.subscribe();
        loop {
            let now = self.manual.now();
            let ahead = self
                .manual
                .lock_sleepers()
                .values()
                .filter(|deadline| **deadline > now)
                .count();
            if ahead >= count || changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until some sleep waits for a moment still ahead, then moves the clock exactly
    /// there, and answers how far it moved. Repeated, it runs a schedule step by step the
    /// way the schedule itself would unfold in real time.
    pub async fn advance_to_next_deadline(&self) -> Duration {
        let mut changes = self.manual.sleepers_changed.subscribe();
        loop {
            if let Some(next) = self.next_deadline() {
                let before = self.elapsed();
                self.advance_to(next);
                return self.elapsed() - before;
            }
            if changes.changed().await.is_err() {
                return Duration::ZERO;
            }
        }
    }
}

/// Where a manual clock stands: moved by the test, plus the real time it has run since it
/// was last let run.
#[derive(Debug, Clone, Copy, Default)]
struct Reading {
    moved: Duration,
    running_since: Option<Instant>,
}

impl Reading {
    fn elapsed(&self) -> Duration {
        self.moved
            + self
                .running_since
                .map_or(Duration::ZERO, |since| since.elapsed())
    }
}

/// The state behind a manual clock.
struct Manual {
    /// The real moment the clock was made; its readings are this plus the elapsed time.
    origin: Instant,
    wall_origin: SystemTime,
    /// Where the clock stands; every change (a move, a pause, a resume) wakes the sleeps.
    reading: watch::Sender<Reading>,
    /// The deadline of each sleep waiting now, by a registration number.
    sleepers: Mutex<BTreeMap<u64, Instant>>,
    /// Bumped whenever a sleep starts or stops waiting.
    sleepers_changed: watch::Sender<u64>,
    next_sleeper: AtomicU64,
}

impl Manual {
    fn elapsed(&self) -> Duration {
        self.reading.borrow().elapsed()
    }

    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    /// The map holds plain values, so a panic elsewhere cannot leave it inconsistent.
    fn lock_sleepers(&self) -> MutexGuard<'_, BTreeMap<u64, Instant>> {
        self.sleepers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a sleep listed among the clock's sleepers until it ends or is dropped.
struct Registration {
    manual: Arc<Manual>,
    number: u64,
}

impl Registration {
    fn new(manual: Arc<Manual>, deadline: Instant) -> Registration {
        let number = manual.next_sleeper.fetch_add(1, Ordering::Relaxed);
        manual.lock_sleepers().insert(number, deadline);
        manual.sleepers_changed.send_modify(|n| *n += 1);
        Registration { manual, number }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.manual.lock_sleepers().remove(&self.number);
        self.manual.sleepers_changed.send_modify(|n| *n += 1);
    }
}

async fn manual_sleep(manual: Arc<Manual>, deadline: Instant) {
    // Subscribing before the first look means no move can slip between the look and the
    // wait.
    let mut ticks = manual.reading.subscribe();
    if manual.now() >= deadline {
        return;
    }
    let _registration = Registration::new(manual.clone(), deadline);
    loop {
        let reading = *ticks.borrow_and_update();
        let left = deadline.saturating_duration_since(manual.origin + reading.elapsed());
        if left.is_zero() {
            return;
        }
        // The sender lives in `manual`, which this future holds, so it cannot close.
        if reading.running_since.is_some() {
            tokio::select! {
                () = tokio::time::sleep(left) => {}
                _ = ticks.changed() => {}
            }
        } else if ticks.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_manual_clock_stands_still_until_advanced() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let start = clock.now();
        assert_eq!(clock.unix_ms(), MANUAL_CLOCK_START_UNIX_SECS * 1000);
        let sleeper = tokio::spawn(clock.sleep(10 * SECOND));
        manual.until_sleepers(1).await;
        manual.advance(9 * SECOND);
        assert!(!sleeper.is_finished());
        assert_eq!(manual.next_deadline(), Some(start + 10 * SECOND));
        manual.advance(SECOND);
        sleeper.await.unwrap();
        assert_eq!(manual.sleepers(), 0);
        assert_eq!(clock.now() - start, 10 * SECOND);
        assert_eq!(
            clock.unix_ms(),
            MANUAL_CLOCK_START_UNIX_SECS * 1000 + 10_000
        );
    }

    #[tokio::test]
    async fn advancing_to_the_next_deadline_visits_each_in_order() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let (sender, mut woken) = tokio::sync::mpsc::unbounded_channel();
        for seconds in [3u64, 1, 2] {
            let (clock, sender) = (clock.clone(), sender.clone());
            tokio::spawn(async move {
                clock.sleep(Duration::from_secs(seconds)).await;
                sender.send(seconds).unwrap();
            });
        }
        manual.until_sleepers(3).await;
        for expected in [1u64, 2, 3] {
            assert_eq!(manual.advance_to_next_deadline().await, SECOND);
            assert_eq!(woken.recv().await, Some(expected));
        }
        assert_eq!(manual.elapsed(), 3 * SECOND);
    }

    #[tokio::test]
    async fn a_timeout_ends_on_the_clock_not_in_real_time() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let waiting = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock
                    .timeout(5 * SECOND, std::future::pending::<()>())
                    .await
            }
        });
        manual.until_sleepers(1).await;
        manual.advance(5 * SECOND);
        assert_eq!(waiting.await.unwrap(), Err(Elapsed));
        assert_eq!(clock.timeout(SECOND, async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn past_deadlines_complete_at_once_and_endless_ones_never_register() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        manual.advance(SECOND);
        clock.sleep_until(clock.now() - SECOND).await;
        clock.sleep(Duration::ZERO).await;
        let endless = clock.sleep(Duration::MAX);
        drop(endless);
        assert_eq!(manual.sleepers(), 0);
        assert_eq!(manual.next_deadline(), None);
        // Moving back is not a thing a clock does.
        manual.advance_to(clock.now() - SECOND);
        assert_eq!(manual.elapsed(), SECOND);
    }

    #[tokio::test]
    async fn a_running_manual_clock_moves_with_real_time_until_held_again() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let sleeper = tokio::spawn(clock.sleep(Duration::from_millis(20)));
        manual.until_sleepers(1).await;
        manual.resume();
        // Real time alone ends the sleep now; the bound only catches a hang.
        tokio::time::timeout(Duration::from_secs(60), sleeper)
            .await
            .expect("the running clock reaches the deadline")
            .unwrap();
        assert!(manual.elapsed() >= Duration::from_millis(20));
        manual.pause();
        let held = manual.elapsed();
        assert!(!manual.is_running());
        // A real pause on purpose: real time must pass for the test to show it is ignored.
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(manual.elapsed(), held, "a held clock stands still");
    }

    #[tokio::test(start_paused = true)]
    async fn the_system_clock_follows_tokio_time_so_paused_unit_tests_control_it() {
        let clock = Clock::system();
        let start = clock.now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert!(clock.now() - start >= Duration::from_secs(3600));
        assert_eq!(Clock::system(), clock);
        assert_ne!(ManualClock::new().clock(), clock);
    }
}
