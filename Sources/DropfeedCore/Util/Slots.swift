/// A fixed number of result slots that `DispatchQueue.concurrentPerform` workers fill, each
/// worker writing only its own index (so no lock is needed; a Swift array would trap on the
/// simultaneous access).
final class Slots<Element>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Element?>

    init(_ count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    init(_ values: [Element]) {
        storage = .allocate(capacity: values.count)
        _ = storage.initialize(from: values.map { Optional($0) })
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    subscript(_ k: Int) -> Element? {
        get { storage[k] }
        set { storage[k] = newValue }
    }

    /// The value in slot `k`, leaving the slot empty (frees it as soon as the caller is done).
    func take(_ k: Int) -> Element {
        defer { storage[k] = nil }
        return storage[k]!
    }

    /// Every slot's value; all must be filled.
    var all: [Element] { storage.map { $0! } }
}

/// A value that `DispatchQueue.concurrentPerform` workers share although the compiler cannot
/// prove it safe: the caller promises it is (a closure that only reads what it shares, and
/// writes only what each worker owns).
final class Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
