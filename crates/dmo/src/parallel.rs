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
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::sync_channel::<std::thread::Result<R>>(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done = done.clone();
            let (next, f) = (&next, &f);
            scope.spawn(move || {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(at) else {
                        return;
                    };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                    let failed = result.is_err();
                    // The consumer gone (it stopped early), or this item's panic sent: stop.
                    if done.send(result).is_err() || failed {
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

/// The results of [`stream`] as they come.
struct Results<R> {
    results: std::sync::mpsc::Receiver<std::thread::Result<R>>,
    left: usize,
}

impl<R> Iterator for Results<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        if self.left == 0 {
            return None;
        }
        match self.results.recv() {
            Ok(Ok(result)) => {
                self.left -= 1;
                Some(result)
            }
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // Every worker sends each of its items' results or a panic before it ends.
            Err(_) => unreachable!("the workers ended with {} results unsent", self.left),
        }
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
