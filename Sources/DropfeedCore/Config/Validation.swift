/// Everything `dropfeed validate` checks: the config, every mapping, and each mapping against the
/// source header.
public enum FeedValidation {
    /// All problems found (empty when the feed is valid), and the config when it loaded.
    public static func check(configPath: String) -> (config: FeedConfig?, problems: [ConfigProblem]) {
        let config: FeedConfig
        do {
            config = try FeedConfig.load(path: configPath)
        } catch let error as ConfigError {
            return (nil, error.problems)
        } catch {
            return (nil, [ConfigProblem(file: configPath, path: "", message: "\(error)")])
        }
        var problems: [ConfigProblem] = []
        let source = config.source
        do {
            let reader = try CSVReader(path: source.path, displayName: source.displayPath, options: source.options)
            for key in source.key where !reader.header.contains(key) {
                problems.append(ConfigProblem(file: config.file, path: "source.key",
                                              message: "no source column `\(key)`" + suggestion(for: key, in: reader.header)))
            }
            for target in config.targets {
                problems += CompiledMapping.problems(target.mapping, header: reader.header, sourceKey: source.key)
            }
        } catch {
            problems.append(ConfigProblem(file: config.file, path: "source.path", message: "\(error)"))
        }
        return (config, problems)
    }
}
