namespace Podvisor.Cli;

/// <summary>Where <c>podvisor run</c> connects the guest's serial console.</summary>
internal sealed record ConsoleTarget(ConsoleKind Kind, string? Path)
{
    public static readonly ConsoleTarget Stdio = new(ConsoleKind.Stdio, null);

    /// <summary>"stdio", "file:PATH" (output appended to PATH; input from this terminal) or "socket:PATH"
    /// (a Unix socket clients attach to for output and input).</summary>
    public static ConsoleTarget Parse(string text)
    {
        if (text == "stdio") return Stdio;
        int colon = text.IndexOf(':');
        string kind = colon < 0 ? text : text[..colon], path = colon < 0 ? "" : text[(colon + 1)..];
        return kind switch
        {
            "file" or "socket" when path.Length == 0 => throw new ArgumentException($"--console {kind}: needs a path ({kind}:PATH)"),
            "file" => new(ConsoleKind.File, System.IO.Path.GetFullPath(path)),
            "socket" => new(ConsoleKind.Socket, System.IO.Path.GetFullPath(path)),
            _ => throw new ArgumentException($"--console {text}: give stdio, file:PATH or socket:PATH"),
        };
    }

    public override string ToString() => Kind switch
    {
        ConsoleKind.Stdio => "stdio",
        ConsoleKind.File => $"file:{Path}",
        _ => $"socket:{Path}",
    };
}
