/// The version `dropfeed --version` prints.
public let dropfeedVersion = "0.1.0"
