namespace Podvisor.Kvm.Tls;

/// <summary>The one TLS version a <see cref="MutualTlsContext"/> speaks.</summary>
public enum TlsVersion
{
    Tls12 = 0x0303,
    Tls13 = 0x0304,
}
