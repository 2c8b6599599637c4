import Foundation

/// Everything `dropfeed validate` checks: the config, every mapping, and each mapping against the
/// source header.
public enum FeedValidation {
    /// All problems found (empty when the feed is valid), and the config when it loaded.
    ///
    /// When the files themselves have problems, the source columns the mappings name are still
    /// checked against the export's header (read leniently from the raw files), so one run of
    /// `validate` lists every problem.
    public static func check(configPath: String) -> (config: FeedConfig?, problems: [ConfigProblem]) {
        let config: FeedConfig
        do {
            config = try FeedConfig.load(path: configPath)
        } catch let error as ConfigError {
            return (nil, error.problems + lenientHeaderProblems(configPath: configPath, known: error.problems))
        } catch {
            return (nil, [ConfigProblem(file: configPath, path: "", message: "\(error)")])
        }
        var problems: [ConfigProblem] = []
        let source = config.source
        do {
            let wanted = config.targets.reduce(Set(source.key)) { $0.union(CompiledMapping.sourceColumns(of: $1.mapping)) }
            let (header, multiValued) = try readSourceHeader(source, wanted: wanted)
            for key in source.key where !header.contains(key) {
                problems.append(
                    ConfigProblem(
                        file: config.file, path: "source.key",
                        message: "no source column `\(key)`" + suggestion(for: key, in: header)))
            }
            for target in config.targets {
                problems += CompiledMapping.problems(
                    target.mapping, header: header, sourceKey: source.key, multiValued: multiValued)
            }
        } catch {
            problems.append(ConfigProblem(file: config.file, path: "source.path", message: "\(error)"))
        }
        return (config, problems)
    }

    /// Source-column problems found by reading the raw config and mapping files, for when they do
    /// not load as a whole. Skips places that already have a problem.
    static func lenientHeaderProblems(configPath: String, known: [ConfigProblem]) -> [ConfigProblem] {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = absolutePath(configPath, relativeTo: cwd)
        let directory = (absolute as NSString).deletingLastPathComponent
        let quiet = ProblemLog(file: configPath)
        guard case .object(let root)? = loadConfigNode(path: absolute, displayName: configPath, log: quiet),
            case .object(let source)? = root["source"], case .string(let sourcePath)? = source["path"]
        else { return [] }
        var options = CSVReadOptions()
        if case .string(let d)? = source["delimiter"], let byte = CSVReadOptions.delimiter(named: d) {
            options.delimiter = byte
        }
        if case .string(let e)? = source["encoding"], let encoding = TextEncoding(name: e) {
            options.encoding = encoding
        }
        // The other formats' columns are known only from reading every record, with the mappings' names.
        if case .string(let format)? = source["format"], format != SourceFormat.csv.rawValue { return [] }
        guard
            let header = try? CSVReader(path: absolutePath(sourcePath, relativeTo: directory), options: options).header,
            case .array(let targets)? = root["targets"]
        else { return [] }
        var problems: [ConfigProblem] = []
        var seen = Set<String>()
        for case .object(let target) in targets {
            guard case .string(let mappingPath)? = target["mapping"], seen.insert(mappingPath).inserted,
                case .object(let mapping)? = loadConfigNode(
                    path: absolutePath(mappingPath, relativeTo: directory),
                    displayName: mappingPath, log: quiet)
            else { continue }
            for (path, column) in sourceColumnReferences(mapping) where !header.contains(column) {
                let already = known.contains {
                    $0.file == mappingPath && ($0.path == path || path.hasPrefix($0.path + "."))
                }
                if !already {
                    problems.append(
                        ConfigProblem(
                            file: mappingPath, path: path,
                            message: "no source column `\(column)`" + suggestion(for: column, in: header)))
                }
            }
        }
        return problems
    }

    /// Every source column a raw mapping names, with its JSON path.
    static func sourceColumnReferences(_ mapping: [String: ConfigNode]) -> [(String, String)] {
        var out: [(String, String)] = []
        if case .array(let conditions)? = mapping["where"] {
            for (k, item) in conditions.enumerated() {
                if case .object(let c) = item, case .string(let column)? = c["column"] {
                    out.append(("where[\(k)].column", column))
                }
            }
        }
        func value(_ c: [String: ConfigNode], at path: String) {
            switch c["from"] {
            case .string(let name)?: out.append(("\(path).from", name))
            case .array(let names)?:
                for (j, node) in names.enumerated() {
                    if case .string(let name) = node { out.append(("\(path).from[\(j)]", name)) }
                }
            default: break
            }
            if case .string(let text)? = c["template"], let template = try? Template(text) {
                for name in template.placeholders { out.append(("\(path).template", name)) }
            }
            if case .string(let name)? = c["lookup"] { out.append(("\(path).lookup", name)) }
        }
        if case .array(let columns)? = mapping["columns"] {
            for (k, item) in columns.enumerated() {
                if case .object(let c) = item { value(c, at: "columns[\(k)]") }
            }
        }
        // OneRoster enrollments' values are columns too.
        if case .object(let output)? = mapping["output"], case .object(let roster)? = output["oneroster"],
            case .object(let enrollments)? = roster["enrollments"]
        {
            for field in EnrollmentSpec.Field.allCases {
                if case .object(let c)? = enrollments[field.rawValue] {
                    value(c, at: "output.oneroster.enrollments.\(field.rawValue)")
                }
            }
        }
        return out
    }
}
