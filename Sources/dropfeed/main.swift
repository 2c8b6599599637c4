import DropfeedCore
print("dropfeed \(dropfeedVersion)")
