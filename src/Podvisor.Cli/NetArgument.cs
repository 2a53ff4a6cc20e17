using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Machine;

namespace Podvisor.Cli;

/// <summary><c>--net tap=NAME[,mac=MAC]</c>: a virtio-net interface on a host TAP device.</summary>
internal static class NetArgument
{
    public const string Syntax = "tap=NAME[,mac=02:00:00:00:00:01]";

    public static NetConfig Parse(string value)
    {
        string? tap = null;
        MacAddress? mac = null;
        foreach (string option in value.Split(','))
        {
            if (option.StartsWith("tap=", StringComparison.Ordinal)) tap = option[4..];
            else if (option.StartsWith("mac=", StringComparison.Ordinal))
            {
                try
                {
                    mac = MacAddress.Parse(option[4..]);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"--net {value}: {e.Message}");
                }
            }
            else throw new ArgumentException($"--net {value}: unknown option '{option}' (give {Syntax})");
        }
        if (string.IsNullOrEmpty(tap)) throw new ArgumentException($"--net {value}: name the TAP device ({Syntax})");
        return new NetConfig(tap, mac);
    }

    public static string Format(NetConfig net) => $"tap={net.TapName}" + (net.Mac is { } mac ? $",mac={mac}" : "");
}
