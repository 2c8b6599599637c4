/// Helpers for messages that name things: "did you mean", numbers as people write them.

/// `` (did you mean `x`?)`` when a name is close to one of `candidates`, else the empty string.
public func suggestion(for name: String, in candidates: [String]) -> String {
    guard let best = closest(to: name, in: candidates) else { return "" }
    return " (did you mean `\(best)`?)"
}

/// The candidate nearest to `name` by edit distance, when it is near enough to be a typo.
public func closest(to name: String, in candidates: [String]) -> String? {
    let target = Array(name.lowercased())
    var best: (String, Int)?
    for candidate in candidates {
        let d = editDistance(target, Array(candidate.lowercased()))
        if d <= max(2, target.count / 3), d < (best?.1 ?? Int.max) { best = (candidate, d) }
    }
    return best?.0
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// `5` rather than `5.0`; other numbers as Swift prints them.
func formatNumber(_ n: Double) -> String {
    n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
}
