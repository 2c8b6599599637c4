#if canImport(Glibc)
    import Glibc
#endif

/// A connected TCP socket; owns its descriptor.
///
/// Connecting is non-blocking with `poll`, so a host that drops SYNs fails after `timeout`
/// seconds instead of the kernel's two minutes; the socket is blocking again afterwards.
final class TCPSocket {
    private(set) var descriptor: Int32

    /// Resolves `host` (IPv4 and IPv6, `getaddrinfo`) and connects to the first address that
    /// answers, all within `timeout` seconds.
    init(host: String, port: Int, timeout: Int) throws {
        let deadline = Self.now() + Double(timeout)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let list else {
            let reason = String(cString: gai_strerror(rc))
            throw SFTPError(
                rc == EAI_AGAIN ? .connection : .hostLookup,
                "cannot resolve host \(host): \(reason.lowercased())", operation: "getaddrinfo", message: reason)
        }
        defer { freeaddrinfo(list) }

        var lastErrno: Int32 = 0
        var address: UnsafeMutablePointer<addrinfo>? = list
        while let entry = address {
            address = entry.pointee.ai_next
            let fd = socket(
                entry.pointee.ai_family, entry.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                entry.pointee.ai_protocol)
            guard fd >= 0 else {
                lastErrno = errno
                continue
            }
            let result = Self.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen, deadline: deadline)
            if result == 0 {
                descriptor = fd
                setOption(Int32(IPPROTO_TCP), TCP_NODELAY)
                setOption(Int32(SOL_SOCKET), SO_KEEPALIVE)
                return
            }
            lastErrno = result
            Glibc.close(fd)
            if result == ETIMEDOUT { break }
        }
        let reason =
            lastErrno == ETIMEDOUT ? "timed out after \(timeout)s" : String(cString: strerror(lastErrno)).lowercased()
        throw SFTPError(
            .connection, "cannot connect to \(host) port \(port): \(reason)", operation: "connect",
            message: reason)
    }

    /// Closes the descriptor; later calls do nothing.
    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }

    /// 0 when connected, else the errno (`ETIMEDOUT` when the deadline passed).
    private static func connect(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: socklen_t, deadline: Double
    ) -> Int32 {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, address, length) != 0 {
            guard errno == EINPROGRESS else { return errno }
            var pollFD = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            while true {
                let remaining = Int32(max(0, (deadline - now()) * 1000))
                let ready = poll(&pollFD, 1, remaining)
                if ready > 0 { break }
                if ready == 0 { return ETIMEDOUT }
                if errno != EINTR { return errno }
            }
            var pending: Int32 = 0
            var pendingLength = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &pendingLength) == 0 else { return errno }
            if pending != 0 { return pending }
        }
        _ = fcntl(fd, F_SETFL, flags)
        return 0
    }

    private func setOption(_ level: Int32, _ name: Int32) {
        var on: Int32 = 1
        _ = setsockopt(descriptor, level, name, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
