//! Owns running the independent parts of one load (a zone file's scan, the
//! answer table's runs, an error search's pieces) on every core.

/// The cores this process may run on (1 when that cannot be told).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` over every item: the first on the calling thread, each other on a
/// thread of its own. The results come back in item order, `None` for an
/// item whose thread panicked (the caller redoes it or gives up).
pub(crate) fn each_on_threads<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let Some((first, rest)) = items.split_first() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        let first = f(first);
        std::iter::once(Some(first))
            .chain(handles.into_iter().map(|h| h.join().ok()))
            .collect()
    })
}
