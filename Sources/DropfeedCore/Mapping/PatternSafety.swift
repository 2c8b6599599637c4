/// Finds the shapes of regular expression that make a backtracking engine (ICU, behind
/// `NSRegularExpression`) take time exponential in the value's length: `(a+)+$` takes seconds on
/// 30 characters and never ends on 20,000. A mapping is checked once, when it is loaded, so such a
/// pattern is a configuration error (exit 78) instead of a run that hangs on one hostile value.
///
/// Refused, where `*` stands for any unbounded repetition (`*`, `+`, `{n,}`) or one of more than
/// 16 times:
/// - repetition of a group that itself holds an unbounded repetition: `(a+)+`, `(a*)*`, `(\w+\s?)*`;
/// - repetition of alternatives that can begin with the same character: `(a|a)*`, `(a|ab)+`,
///   `(\d|1)*` — the engine tries every way of splitting the text between them.
/// Everything else (`^\d+$`, `(\d{3})-(\d{4})`, `(foo|bar)+`, `[^0-9+]`) passes. The check is
/// syntactic and errs on the side of refusing: rewrite a refused pattern without the nesting
/// (`(a+)+` is `a+`), or use an atomic group `(?>…)` or a possessive quantifier `a++`, which
/// never backtrack and are accepted.
enum PatternSafety {
    /// Why `source` may backtrack catastrophically, or nil.
    static func problem(in source: String) -> String? {
        var scanner = Scanner(Array(source.unicodeScalars))
        return scanner.sequence(depth: 0).problem
    }

    /// Characters an atom can begin with: ASCII as a bitmap, everything else as one flag.
    struct FirstSet {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var other = false

        static let any = FirstSet(low: ~0, high: ~0, other: true)

        mutating func insert(_ c: UInt32) {
            if c < 64 {
                low |= 1 << UInt64(c)
            } else if c < 128 {
                high |= 1 << UInt64(c - 64)
            } else {
                other = true
            }
        }

        mutating func insert(_ range: ClosedRange<UInt32>) {
            if range.upperBound >= 128 { other = true }
            guard range.lowerBound < 128 else { return }
            for c in range.lowerBound...min(range.upperBound, 127) { insert(c) }
        }

        func union(_ o: FirstSet) -> FirstSet { FirstSet(low: low | o.low, high: high | o.high, other: other || o.other) }
        func overlaps(_ o: FirstSet) -> Bool { low & o.low != 0 || high & o.high != 0 || (other && o.other) }
        var complement: FirstSet { FirstSet(low: ~low, high: ~high, other: true) }
        var isEmpty: Bool { low == 0 && high == 0 && !other }
    }

    /// What a piece of pattern holds: whether it repeats without bound somewhere, the characters
    /// it can begin with, whether it can match nothing, and the first problem found inside it.
    struct Shape {
        var unbounded = false
        var first = FirstSet()
        var canBeEmpty = true
        var problem: String?
    }

    private struct Scanner {
        let s: [Unicode.Scalar]
        var i = 0

        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }
        func peek(_ k: Int = 0) -> UInt32? { i + k < s.count ? s[i + k].value : nil }

        /// Alternatives up to `)` or the end; the shape of the whole, with the alternatives' overlap
        /// recorded as `ambiguous`.
        mutating func sequence(depth: Int) -> (shape: Shape, ambiguous: Bool, problem: String?) {
            var alternatives: [Shape] = []
            var current = Shape()
            var problem: String?
            while let c = peek(), c != 0x29 /* ) */ {
                if c == 0x7C /* | */ {
                    i += 1
                    alternatives.append(current)
                    current = Shape()
                    continue
                }
                var atom = self.atom(depth: depth)
                problem = problem ?? atom.problem
                let (min, unboundedRepeat, lazyOrPossessive) = quantifier()
                if unboundedRepeat && !lazyOrPossessive.possessive {
                    if atom.unbounded && !atom.first.isEmpty {
                        problem = problem ?? "nested repetition: a repeated group holds a repetition"
                    }
                    if atom.ambiguous {
                        problem = problem ?? "repeated alternatives that can begin with the same character"
                    }
                }
                // A possessive repetition never gives back what it took: it cannot be split two ways.
                if unboundedRepeat && !lazyOrPossessive.possessive { atom.shape.unbounded = true }
                if min == 0 { atom.shape.canBeEmpty = true }
                if current.canBeEmpty { current.first = current.first.union(atom.shape.first) }
                current.canBeEmpty = current.canBeEmpty && atom.shape.canBeEmpty
                current.unbounded = current.unbounded || atom.shape.unbounded
            }
            alternatives.append(current)
            var whole = Shape()
            whole.canBeEmpty = false
            var ambiguous = false
            for (k, a) in alternatives.enumerated() {
                for b in alternatives[..<k] where a.first.overlaps(b.first) { ambiguous = true }
                whole.first = whole.first.union(a.first)
                whole.unbounded = whole.unbounded || a.unbounded
                whole.canBeEmpty = whole.canBeEmpty || a.canBeEmpty
            }
            return (whole, ambiguous, problem)
        }

        struct Atom {
            var shape: Shape
            var ambiguous = false
            var problem: String?
            var unbounded: Bool { shape.unbounded }
            var first: FirstSet { shape.first }
        }

        private static func single(_ set: FirstSet) -> Atom {
            Atom(shape: Shape(unbounded: false, first: set, canBeEmpty: false))
        }

        private static let zeroWidth = Atom(shape: Shape(unbounded: false, first: FirstSet(), canBeEmpty: true))

        mutating func atom(depth: Int) -> Atom {
            let c = s[i].value
            i += 1
            switch c {
            case 0x28 /* ( */:
                var atomic = false
                var lookaround = false
                if peek() == 0x3F /* ? */ {
                    i += 1
                    let kind = peek() ?? 0
                    if kind == 0x3E /* > */ { atomic = true }
                    if kind == 0x3D || kind == 0x21 { lookaround = true }  // (?= (?!
                    if kind == 0x3C, let next = peek(1), next == 0x3D || next == 0x21 { lookaround = true }  // (?<= (?<!
                    // Skip to the group's body: flags, a name, or the kind character.
                    if kind == 0x3C, let next = peek(1), next != 0x3D && next != 0x21 {
                        while let d = peek(), d != 0x3E { i += 1 }
                        i += 1
                    } else if kind == 0x3A || kind == 0x3E || kind == 0x3D || kind == 0x21 {
                        i += 1
                    } else if kind == 0x3C {
                        i += 2
                    } else {
                        // Flags: (?i) or (?i: … )
                        while let d = peek(), d != 0x29 && d != 0x3A { i += 1 }
                        if peek() == 0x29 {
                            i += 1
                            return Self.zeroWidth
                        }
                        i += 1
                    }
                }
                let inner = depth < 50 ? sequence(depth: depth + 1) : (Shape(), false, "groups nested too deeply")
                if peek() == 0x29 { i += 1 }
                if lookaround { return Atom(shape: Shape(), problem: inner.problem) }
                var atom = Atom(shape: inner.shape, ambiguous: inner.ambiguous, problem: inner.problem)
                if atomic {
                    // An atomic group never gives back what it matched: repeating it is safe.
                    atom.shape.unbounded = false
                    atom.ambiguous = false
                }
                return atom
            case 0x5B /* [ */:
                return Self.single(characterClass())
            case 0x2E /* . */:
                return Self.single(.any)
            case 0x5E, 0x24 /* ^ $ */:
                return Self.zeroWidth
            case 0x5C /* \ */:
                return escape()
            default:
                var set = FirstSet()
                set.insert(c)
                return Self.single(set)
            }
        }

        /// After a backslash, outside a class.
        mutating func escape() -> Atom {
            guard let e = peek() else { return Self.zeroWidth }
            i += 1
            switch Unicode.Scalar(e).map(Character.init) {
            case "b", "B", "A", "z", "Z", "G": return Self.zeroWidth
            case "Q":
                // \Q…\E quotes text: its first character begins it.
                var set = FirstSet()
                if let first = peek() { set.insert(first) }
                while i < s.count && !(s[i] == "\\" && peek(1) == 0x45) { i += 1 }
                i = min(s.count, i + 2)
                return Self.single(set)
            default:
                return Self.single(Self.escapeSet(e, scanner: &self))
            }
        }

        /// The characters `\e` stands for (inside or outside a class).
        static func escapeSet(_ e: UInt32, scanner: inout Scanner) -> FirstSet {
            var set = FirstSet()
            switch Unicode.Scalar(e).map(Character.init) {
            case "d":
                set.insert(0x30...0x39)
                set.other = true
            case "w":
                set.insert(0x30...0x39)
                set.insert(0x41...0x5A)
                set.insert(0x61...0x7A)
                set.insert(0x5F)
                set.other = true
            case "s":
                set.insert(0x09...0x0D)
                set.insert(0x20)
                set.other = true
            case "D", "W", "S", "p", "P", "X", "N", "h", "H", "v", "V", "R":
                // Classes too wide to list (and \p{…} names): anything.
                if e == 0x70 || e == 0x50 || e == 0x4E, scanner.peek() == 0x7B /* { */ {
                    while let d = scanner.peek(), d != 0x7D { scanner.i += 1 }
                    scanner.i += 1
                }
                return .any
            case "x", "u", "U", "0", "c", "o":
                // Hex, octal or control escapes: one character, not worth decoding here.
                while let d = scanner.peek(), (0x30...0x39).contains(d) || (0x41...0x46).contains(d)
                    || (0x61...0x66).contains(d) || d == 0x7B || d == 0x7D
                {
                    scanner.i += 1
                }
                return .any
            case "n": set.insert(0x0A)
            case "r": set.insert(0x0D)
            case "t": set.insert(0x09)
            case "f": set.insert(0x0C)
            case "a": set.insert(0x07)
            case "e": set.insert(0x1B)
            default: set.insert(e)
            }
            return set
        }

        /// A `[…]` class, after its `[`.
        mutating func characterClass() -> FirstSet {
            var set = FirstSet()
            var negated = false
            if peek() == 0x5E {
                negated = true
                i += 1
            }
            var first = true
            var previous: UInt32?
            while let c = peek(), c != 0x5D || first {
                first = false
                i += 1
                if c == 0x5B /* nested set or [:name:] */ {
                    var level = 1
                    while let d = peek(), level > 0 {
                        if d == 0x5B { level += 1 }
                        if d == 0x5D { level -= 1 }
                        i += 1
                    }
                    return .any
                }
                if c == 0x5C, let e = peek() {
                    i += 1
                    set = set.union(Self.escapeSet(e, scanner: &self))
                    previous = nil
                    continue
                }
                if c == 0x2D, let low = previous, let high = peek(), high != 0x5D {
                    i += 1
                    if high >= low { set.insert(low...high) }
                    if high >= 128 { set.other = true }
                    previous = nil
                    continue
                }
                set.insert(c)
                previous = c
            }
            if peek() == 0x5D { i += 1 }
            return negated ? set.complement : set
        }

        /// A quantifier after an atom: its least count, whether it is unbounded (or over 16), and
        /// whether it is possessive (`++`: never backtracks).
        mutating func quantifier() -> (min: Int, unbounded: Bool, lazyOrPossessive: (lazy: Bool, possessive: Bool)) {
            guard let c = peek() else { return (1, false, (false, false)) }
            var min = 1
            var unbounded = false
            switch c {
            case 0x2A /* * */:
                min = 0
                unbounded = true
                i += 1
            case 0x2B /* + */:
                unbounded = true
                i += 1
            case 0x3F /* ? */:
                min = 0
                i += 1
            case 0x7B /* { */:
                var k = i + 1
                var text = ""
                while k < s.count, s[k] != "}" {
                    text.unicodeScalars.append(s[k])
                    k += 1
                }
                let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                guard k < s.count, let low = Int(parts.first ?? ""), parts.count <= 2 else {
                    return (1, false, (false, false))
                }
                i = k + 1
                min = low
                if parts.count == 2 {
                    if let high = Int(parts[1]) { unbounded = high > 16 } else { unbounded = parts[1].isEmpty }
                } else {
                    unbounded = low > 16
                }
            default:
                return (1, false, (false, false))
            }
            var lazy = false
            var possessive = false
            if peek() == 0x3F {
                lazy = true
                i += 1
            } else if peek() == 0x2B {
                possessive = true
                i += 1
            }
            return (min, unbounded, (lazy, possessive))
        }
    }
}
