//! Work spread over the machine's cores: the rules and the forecasts' simulations read the
//! portfolio and nothing else, so they run side by side without locks.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` of each item, in the items' order, computed on up to one thread per core. Each thread
/// takes the next item no thread has taken, so put the costliest items first. A panic in `f`
/// is raised again here, as if `f` had run on this thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    filter_map(items, |item| Some(f(item)))
}

/// [`map`] keeping only the `Some` results, in the items' order: a result not kept is dropped
/// on the thread that made it, so the caller never holds one for every item.
pub fn filter_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Option<R> + Sync) -> Vec<R> {
    let numbered: Vec<(usize, &T)> = items.iter().enumerate().collect();
    let mut done = stream(
        &numbered,
        |(at, item)| f(item).map(|r| (*at, r)),
        |results| results.flatten().collect::<Vec<_>>(),
    );
    done.sort_unstable_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, r)| r).collect()
}

/// `f` of each item computed on up to one thread per core, handed to `consume` on the calling
/// thread as each is done, in the order they finish: so that a consumer that writes results
/// away (a store) holds only those not yet written, not all of them. The workers wait while
/// the consumer is busy (at most one finished result per worker waits for it).
///
/// The iterator yields exactly one result per item, unless `f` panics: then the panic is
/// raised in the consumer's pull, before the iterator could end, so that a consumer never
/// takes a short run of results for all of them. A consumer that stops early stops the
/// workers after the items they are on.
pub fn stream<T: Sync, R: Send, C>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
    consume: impl FnOnce(&mut (dyn Iterator<Item = R> + Send)) -> C,
) -> C {
    stream_parts(items, |item, send| send(f(item)), consume)
}

/// [`stream`] for work that hands over its results in parts as it goes: `f` calls `send` with
/// each part (any number of them, none included), and the consumer takes each as it is sent.
/// An item with many results (a rule with a finding for each of 10,000 initiatives) then
/// never holds them all. The parts of one item come in the order sent, those of different
/// items interleaved.
///
/// The iterator ends once every item is done, unless `f` panics: then the panic is raised in
/// the consumer's pull, before the iterator could end (the item's last part sent is dropped
/// with it). A consumer that stops early stops the workers after the items they are on (their
/// further parts are dropped as sent).
///
/// A worker holds each part until the next is sent or the item is done, and hands the last
/// over with the word that the item is done: one hand-over a part, and none more for the
/// item's end (each is a rendezvous of two threads; the forecasts make one part for each of
/// 10,000 initiatives).
pub fn stream_parts<T: Sync, R: Send, C>(
    items: &[T],
    f: impl Fn(&T, &mut dyn FnMut(R)) + Sync,
    consume: impl FnOnce(&mut (dyn Iterator<Item = R> + Send)) -> C,
) -> C {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::sync_channel::<Sent<R>>(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done = done.clone();
            let (next, f) = (&next, &f);
            scope.spawn(move || {
                // Set once the consumer is gone: this thread takes no further item.
                let mut gone = false;
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(at) else {
                        return;
                    };
                    let mut held: Option<R> = None;
                    let mut send = |part: R| {
                        if let Some(before) = held.replace(part) {
                            gone = gone || done.send(Sent::Part(before)).is_err();
                        }
                    };
                    let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        f(item, &mut send)
                    }));
                    let end = match ended {
                        Ok(()) => Sent::Done(held.take()),
                        Err(panic) => Sent::Panicked(panic),
                    };
                    let failed = matches!(end, Sent::Panicked(_));
                    // The consumer gone (it stopped early), or this item's panic sent: stop.
                    if gone || done.send(end).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(done);
        let mut results = Results {
            results,
            left: items.len(),
        };
        // `results` is dropped when `consume` returns (or unwinds), before the scope waits for
        // the workers: a worker blocked on sending then sees the consumer gone.
        consume(&mut results)
    })
}

/// What a worker of [`stream_parts`] sends the consumer.
enum Sent<R> {
    /// A part of an item's results.
    Part(R),
    /// An item is done, with its last part if it sent any: the others were sent before.
    Done(Option<R>),
    /// An item's work panicked, with this payload.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// The results of [`stream_parts`] as they come.
struct Results<R> {
    results: std::sync::mpsc::Receiver<Sent<R>>,
    /// Items not yet done.
    left: usize,
}

impl<R> Iterator for Results<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        while self.left > 0 {
            match self.results.recv() {
                Ok(Sent::Part(part)) => return Some(part),
                Ok(Sent::Done(last)) => {
                    self.left -= 1;
                    if last.is_some() {
                        return last;
                    }
                }
                Ok(Sent::Panicked(panic)) => std::panic::resume_unwind(panic),
                // Every worker sends each of its items' end (done or a panic) before it ends.
                Err(_) => unreachable!("the workers ended with {} items not done", self.left),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_results_come_in_the_order_of_the_items() {
        let items: Vec<u64> = (0..1_000).collect();
        let squares = super::map(&items, |n| {
            // Uneven work, so the threads finish out of order.
            if n % 7 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            n * n
        });
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u64], |n| *n).is_empty());
    }

    #[test]
    fn streamed_results_all_reach_the_consumer_as_they_finish() {
        let items: Vec<u64> = (0..500).collect();
        let mut got = super::stream(
            &items,
            |n| {
                if n % 5 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                n * n
            },
            |results| results.collect::<Vec<_>>(),
        );
        got.sort_unstable();
        assert_eq!(got, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(super::stream(&[] as &[u64], |n| *n, |r| r.count()), 0);
    }

    #[test]
    fn the_parts_of_an_item_all_reach_the_consumer_in_the_order_sent() {
        // Item n sends n % 7 parts (none for every seventh), with uneven work between them.
        let items: Vec<u64> = (0..300).collect();
        let got = super::stream_parts(
            &items,
            |n, send| {
                for part in 0..n % 7 {
                    if (n + part) % 5 == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(50));
                    }
                    send((*n, part));
                }
            },
            |parts| parts.collect::<Vec<_>>(),
        );
        let mut by_item = std::collections::BTreeMap::<u64, Vec<u64>>::new();
        for (n, part) in got {
            by_item.entry(n).or_default().push(part);
        }
        for n in &items {
            let sent: Vec<u64> = (0..n % 7).collect();
            assert_eq!(by_item.remove(n).unwrap_or_default(), sent, "item {n}");
        }
        assert!(by_item.is_empty());
    }

    #[test]
    fn a_panic_after_some_parts_reaches_the_consumer_after_them() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut seen = Vec::new();
            super::stream_parts(
                &[1u64],
                |_, send| {
                    send("first");
                    send("second");
                    panic!("after two parts");
                },
                |parts| {
                    for part in parts {
                        seen.push(part);
                    }
                },
            );
            seen
        }));
        let panic = outcome.expect_err("the panic is raised in the consumer");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"after two parts"));
    }

    #[test]
    fn a_consumer_that_stops_early_stops_the_workers() {
        let items: Vec<u64> = (0..10_000).collect();
        let computed = std::sync::atomic::AtomicUsize::new(0);
        let first = super::stream(
            &items,
            |n| {
                computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *n
            },
            |results| results.take(3).count(),
        );
        assert_eq!(first, 3);
        // Each worker finishes the item it is on, and none takes another.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(computed.into_inner() <= 3 + 2 * threads);
    }

    #[test]
    fn a_panic_in_a_streamed_item_reaches_the_consumer_before_the_end() {
        let items: Vec<u64> = (0..100).collect();
        let mut seen = 0;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            super::stream(
                &items,
                |n| {
                    if *n == 40 {
                        panic!("item 40");
                    }
                    *n
                },
                |results| {
                    for _ in results {
                        seen += 1;
                    }
                    "the consumer saw the end"
                },
            )
        }));
        let panic = outcome.expect_err("the panic is raised in the consumer");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"item 40"));
        assert!(seen < items.len(), "{seen} results");
    }

    #[test]
    #[should_panic(expected = "item 3")]
    fn a_panic_on_another_thread_is_raised_on_the_callers() {
        super::map(&[1, 2, 3, 4], |n| {
            if *n == 3 {
                panic!("item 3");
            }
            *n
        });
    }
}
