//! The one loop shape of the protocol drivers (STP and VRRP), after
//! quinn-proto: the protocol core is a state machine with time as an
//! argument, and its driver, in a loop, applies the core's outputs,
//! publishes its status, then waits for the first of: stop, the next
//! deadline (`sleep_until(poll_timeout())`), an input (a socket read, a
//! link event...), and feeds that to the core. [`run`] is that loop and
//! [`apply_outputs`] the draining of the core's outputs; each driver
//! implements [`Driver`] for its inputs and outputs.

use std::time::Instant;

use tokio::sync::oneshot;

/// A protocol driver as [`run`] drives it.
pub(super) trait Driver {
    /// Names the protocol in logs: `stp`, `vrrp`.
    const PROTOCOL: &'static str;
    /// One input from the network, the kernel or the rest of the daemon.
    type Input;
    /// One of the core's outputs (its actions).
    type Output;
    /// Why applying an output failed.
    type Error: std::fmt::Display;

    /// The core's next output, if any (`poll_action`).
    fn poll_output(&mut self) -> Option<Self::Output>;
    /// Applies one output: a packet sent, a netlink request, a map write.
    async fn apply(&mut self, output: Self::Output) -> Result<(), Self::Error>;
    /// Counts a failed output for the status.
    fn count_error(&mut self);
    /// Publishes the status once the outputs are applied.
    fn publish(&self);
    /// The next deadline: the core's, or one of the driver's own retries.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The deadline has passed.
    async fn handle_timeout(&mut self, now: Instant);
    /// Waits for the next input (cancel-safe: dropped when a deadline or
    /// the stop comes first); never resolves when none can come.
    async fn next_input(&mut self) -> Self::Input;
    /// Feeds one input to the core.
    async fn handle_input(&mut self, input: Self::Input);
}

/// Runs `driver` until `stop` fires (or its sender is gone).
/// How a driver is asked to stop.
pub(super) enum Stop<S> {
    /// For good: a VRRP master resigns, STP hands the bridge back.
    Finish,
    /// For a hitless upgrade: not a word on the wire, nothing undone; the
    /// core's state goes to the sender, for the next process to resume.
    HandOver(oneshot::Sender<S>),
}

/// Drives `driver` until `stop` fires; returns how it was asked to stop
/// (a dropped sender is [`Stop::Finish`]). Outputs are all applied when it
/// returns, so the core's queue is empty.
pub(super) async fn run<D: Driver, S>(
    driver: &mut D,
    stop: &mut oneshot::Receiver<Stop<S>>,
) -> Stop<S> {
    loop {
        apply_outputs(driver).await;
        driver.publish();
        let deadline = driver.poll_timeout();
        tokio::select! {
            how = &mut *stop => break how.unwrap_or(Stop::Finish),
            () = sleep_until(deadline) => driver.handle_timeout(Instant::now()).await,
            input = driver.next_input() => driver.handle_input(input).await,
        }
    }
}

/// Applies every output the core has queued; a failure is counted and
/// logged, and the next output is applied all the same.
pub(super) async fn apply_outputs<D: Driver>(driver: &mut D) {
    while let Some(output) = driver.poll_output() {
        if let Err(err) = driver.apply(output).await {
            driver.count_error();
            tracing::warn!(%err, "{} action failed", D::PROTOCOL);
        }
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::sync::{mpsc, oneshot};

    use super::{run, Driver, Stop};

    /// Records what the loop did; stops itself once it saw two inputs and
    /// its one deadline.
    struct Fake {
        inputs: mpsc::Receiver<u32>,
        /// Outputs queued (popped from the end); odd ones fail.
        outputs: Vec<u32>,
        errors: u64,
        deadline: Option<Instant>,
        log: Vec<String>,
        stop: Option<oneshot::Sender<Stop<()>>>,
    }

    impl Driver for Fake {
        const PROTOCOL: &'static str = "fake";
        type Input = u32;
        type Output = u32;
        type Error = String;

        fn poll_output(&mut self) -> Option<u32> {
            self.log.push("poll".into());
            self.outputs.pop()
        }
        async fn apply(&mut self, output: u32) -> Result<(), String> {
            self.log.push(format!("apply {output}"));
            if output % 2 == 1 {
                return Err("odd".into());
            }
            Ok(())
        }
        fn count_error(&mut self) {
            self.errors += 1;
        }
        fn publish(&self) {}
        fn poll_timeout(&self) -> Option<Instant> {
            self.deadline
        }
        async fn handle_timeout(&mut self, _now: Instant) {
            self.deadline = None;
            self.log.push("timeout".into());
            self.stop_when_done();
        }
        async fn next_input(&mut self) -> u32 {
            match self.inputs.recv().await {
                Some(input) => input,
                None => std::future::pending().await,
            }
        }
        async fn handle_input(&mut self, input: u32) {
            self.log.push(format!("input {input}"));
            self.outputs.push(input + 10);
            self.stop_when_done();
        }
    }

    impl Fake {
        fn stop_when_done(&mut self) {
            let inputs = self.log.iter().filter(|line| line.starts_with("input")).count();
            if inputs == 2 && self.deadline.is_none() {
                let _ = self.stop.take().map(|stop| stop.send(Stop::Finish));
            }
        }
    }

    #[tokio::test]
    async fn inputs_and_the_deadline_are_fed_and_outputs_applied_before_each_wait() {
        let (sender, inputs) = mpsc::channel(4);
        let (stop_tx, mut stop) = oneshot::channel();
        sender.send(1).await.unwrap();
        sender.send(2).await.unwrap();
        let deadline = Instant::now() + Duration::from_millis(30);
        let mut fake = Fake {
            inputs,
            outputs: vec![4, 3],
            errors: 0,
            deadline: Some(deadline),
            log: Vec::new(),
            stop: Some(stop_tx),
        };
        let how = tokio::time::timeout(Duration::from_secs(5), run(&mut fake, &mut stop))
            .await
            .expect("the loop stops when told");
        assert!(matches!(how, Stop::Finish), "told to finish");
        assert!(Instant::now() >= deadline, "the deadline was slept until");
        assert_eq!(
            fake.log,
            [
                "poll", "apply 3", "poll", "apply 4", "poll", // what was queued at start
                "input 1", "poll", "apply 11", "poll", // the output of input 1
                "input 2", "poll", "apply 12", "poll", // of input 2
                "timeout", "poll",
            ],
            "the inputs come before the deadline 30 ms away; outputs are applied before every wait"
        );
        assert_eq!(fake.errors, 2, "3 and 11 failed, and the outputs after them were applied");
    }
}
