using System.Text;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>File facts .NET does not expose on Linux (it reports sockets as ordinary files).</summary>
public static unsafe class HostFiles
{
    /// <summary>True when <paramref name="path"/> itself (not a link's target) is a Unix socket.</summary>
    public static bool IsUnixSocket(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat info;
        fixed (byte* p = name)
        {
            // SAFETY: p is a NUL-terminated path pinned for the call; info is a local the call fills.
            if (LibC.lstat(p, &info) != 0) return false;
        }
        return LibC.S_ISSOCK(info.st_mode);
    }
}
