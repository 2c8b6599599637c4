/// Text from an input, made safe to print to a terminal or a log.
///
/// A value from a hostile export can hold ESC sequences that recolour, retitle or rewrite a
/// terminal, BEL, carriage returns that hide what came before on the line, or Unicode
/// bidirectional overrides that show text in another order than it is. Every message that quotes
/// a value passes it through this, so such characters are shown as `\u{1B}`, never acted on.
extension String {
    /// The text with control characters written as `\u{…}`: C0 controls (line breaks and tabs too,
    /// unless `keepingLineBreaks`), DEL, C1 controls, the line and paragraph separators and the
    /// bidirectional embedding, override and isolate characters. Everything else is unchanged.
    public func escapingControlCharacters(keepingLineBreaks: Bool = false) -> String {
        guard unicodeScalars.contains(where: { needsEscape($0, keepingLineBreaks) }) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if needsEscape(scalar, keepingLineBreaks) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}

private func needsEscape(_ s: Unicode.Scalar, _ keepingLineBreaks: Bool) -> Bool {
    switch s.value {
    case 0x0A, 0x09: return !keepingLineBreaks
    case 0x00..<0x20, 0x7F..<0xA0: return true
    case 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true
    default: return false
    }
}
