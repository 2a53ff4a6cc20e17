using System.Net;
using System.Net.Sockets;

namespace Podvisor.Launcher.Network;

/// <summary>The pod's DNS as its /etc/resolv.conf says (the kubelet writes cluster DNS and search domains there):
/// handed to the guest by DHCP, so names resolve in the guest as in any pod.</summary>
public sealed record ResolvConf(IReadOnlyList<IPAddress> Nameservers, IReadOnlyList<string> Search)
{
    public static ResolvConf Empty { get; } = new([], []);

    /// <summary>The file's nameservers (IPv4: DHCPv4 carries no others) and its last search line, as the resolver reads them.</summary>
    public static ResolvConf Parse(string text)
    {
        var servers = new List<IPAddress>();
        IReadOnlyList<string> search = [];
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Split('#', ';')[0].Trim();
            string[] words = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2) continue;
            if (words[0] == "nameserver" && IPAddress.TryParse(words[1], out var address) && address.AddressFamily == AddressFamily.InterNetwork)
                servers.Add(address);
            else if (words[0] is "search" or "domain")
                search = [.. words.Skip(1).Where(IsDomainName)];
        }
        return new ResolvConf(servers, search);
    }

    public static ResolvConf Read(string path) => File.Exists(path) ? Parse(File.ReadAllText(path)) : Empty;

    private static bool IsDomainName(string name) =>
        name.TrimEnd('.').Split('.').All(label => label.Length is > 0 and <= 63 && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
}
