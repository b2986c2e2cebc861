//! Progress bars on a terminal, one per stream, drawn from the sync's events. Off a terminal
//! there are no bars, and the log lines tell the progress instead.

use crate::sync::events::{SyncEvent, SyncObserver};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// A bar per stream under way.
pub struct ProgressBars {
    bars: Option<indicatif::MultiProgress>,
    streams: Mutex<BTreeMap<(String, String), indicatif::ProgressBar>>,
}

impl ProgressBars {
    /// Bars if stderr is a terminal; none (log lines only) if not.
    pub fn for_stderr() -> ProgressBars {
        ProgressBars {
            bars: std::io::stderr()
                .is_terminal()
                .then(indicatif::MultiProgress::new),
            streams: Mutex::new(BTreeMap::new()),
        }
    }
}

impl SyncObserver for ProgressBars {
    fn draws_progress(&self) -> bool {
        self.bars.is_some()
    }

    fn event(&self, event: &SyncEvent<'_>) {
        let Some(bars) = &self.bars else {
            return;
        };
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        match *event {
            SyncEvent::StreamStarted {
                connection, stream, ..
            } => {
                let bar = bars.add(indicatif::ProgressBar::new_spinner());
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix:.bold} {msg} [{elapsed}]",
                ) {
                    bar.set_style(style);
                }
                bar.set_prefix(format!("{connection}/{stream}"));
                bar.enable_steady_tick(Duration::from_millis(120));
                streams.insert((connection.to_string(), stream.to_string()), bar);
            }
            SyncEvent::PageCommitted {
                connection,
                stream,
                pages,
                total_written,
                ..
            } => {
                if let Some(bar) = streams.get(&(connection.to_string(), stream.to_string())) {
                    bar.set_message(format!("{pages} pages, {total_written} records"));
                }
            }
            SyncEvent::StreamDrained {
                connection,
                stream,
                pages,
                written,
            } => {
                if let Some(bar) = streams.remove(&(connection.to_string(), stream.to_string())) {
                    bar.finish_with_message(format!("{pages} pages, {written} written"));
                }
            }
            SyncEvent::RunFinished { .. } | SyncEvent::ConnectionSkipped { .. } => {}
        }
    }
}
