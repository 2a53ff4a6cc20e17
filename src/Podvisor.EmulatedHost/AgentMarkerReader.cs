using System.Text;

namespace Podvisor.EmulatedHost;

/// <summary>
/// Splits one output port's byte stream into job output and the agent's in-band markers
/// ("\x01PVREADY …\x01", "\x01PVDONE id rc\x01"). Output goes to the current sink untouched.
/// </summary>
internal sealed class AgentMarkerReader
{
    private const byte Mark = 0x01;
    private const int MaxMarkerLength = 128;
    private static readonly byte[] Prefix = "\u0001PV"u8.ToArray();

    private readonly List<byte> _pending = [];
    private readonly Action<string> _onMarker;

    public AgentMarkerReader(Action<string> onMarker) => _onMarker = onMarker;

    /// <summary>Where job output goes; null drops it (between jobs).</summary>
    public Stream? Sink { get; set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        int start = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (_pending.Count == 0)
            {
                if (data[i] != Mark) continue;
                Emit(data[start..i]);
                _pending.Add(Mark);
                start = i + 1;
                continue;
            }

            _pending.Add(data[i]);
            start = i + 1;
            bool prefixSoFar = _pending.Count > Prefix.Length || _pending[^1] == Prefix[_pending.Count - 1];
            if (!prefixSoFar || _pending.Count > MaxMarkerLength)
            {
                FlushPendingAsOutput();
            }
            else if (data[i] == Mark && _pending.Count > Prefix.Length)
            {
                _onMarker(Encoding.ASCII.GetString([.. _pending[1..^1]]));
                _pending.Clear();
            }
        }
        if (_pending.Count == 0) Emit(data[start..]);
    }

    private void FlushPendingAsOutput()
    {
        // Not a marker after all: a 0x01 byte in the job's own output. Pass it on and rescan the rest.
        byte[] bytes = [.. _pending];
        _pending.Clear();
        Emit(bytes.AsSpan(0, 1));
        Feed(bytes.AsSpan(1));
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 0) Sink?.Write(bytes);
    }
}
