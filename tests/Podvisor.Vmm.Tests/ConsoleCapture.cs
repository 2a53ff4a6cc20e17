using System.Text;

namespace Podvisor.Vmm.Tests;

/// <summary>Collects a guest's serial output and lets a test wait for a line.</summary>
internal sealed class ConsoleCapture
{
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();

    public long Bytes { get; private set; }

    public void Add(byte b)
    {
        lock (_lock)
        {
            _text.Append((char)b);
            Bytes++;
        }
    }

    public string Text
    {
        get { lock (_lock) return _text.ToString(); }
    }

    public bool WaitFor(string marker, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Text.Contains(marker, StringComparison.Ordinal)) return true;
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>The value of "KEY=value" on the line that has it, e.g. Value("mem=") → "244116".</summary>
    public string? Value(string key)
    {
        string text = Text;
        int at = text.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + key.Length;
        int end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end])) end++;
        return text[start..end];
    }
}
