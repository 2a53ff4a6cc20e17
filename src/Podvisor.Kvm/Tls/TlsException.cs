namespace Podvisor.Kvm.Tls;

/// <summary>OpenSSL refused to set up a context or a session (not a peer's doing: that is an AuthenticationException).</summary>
public sealed class TlsException(string message) : Exception(message);
