/// Key order: component by component, comparing UTF-8 bytes.
func keyBytesLess(_ a: [String], _ b: [String]) -> Bool {
    for (x, y) in zip(a, b) where x != y {
        return x.utf8.lexicographicallyPrecedes(y.utf8)
    }
    return a.count < b.count
}

/// For each column of `to`, its position in `from` (nil when `from` does not have it).
func projection(from: [String], to: [String]) -> [Int?] {
    to.map { from.firstIndex(of: $0) }
}
