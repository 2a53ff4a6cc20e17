namespace Podvisor.Cli.Cluster;

/// <summary>Columns as kubectl prints them: upper-case headers, each column as wide as its widest cell, three spaces apart.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public int Count => _rows.Count;

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in _rows.Prepend(headers))
            output.WriteLine(string.Join("   ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }

    /// <summary>An age as kubectl shows it: 45s, 12m, 5h, 3d, 2y.</summary>
    public static string Age(DateTime? since, DateTime now)
    {
        if (since is not { } t) return "<unknown>";
        var age = now - t.ToUniversalTime();
        if (age < TimeSpan.Zero) age = TimeSpan.Zero;
        return age.TotalSeconds < 120 ? $"{(int)age.TotalSeconds}s"
            : age.TotalMinutes < 120 ? $"{(int)age.TotalMinutes}m"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours}h"
            : age.TotalDays < 730 ? $"{(int)age.TotalDays}d"
            : $"{(int)(age.TotalDays / 365)}y";
    }
}
