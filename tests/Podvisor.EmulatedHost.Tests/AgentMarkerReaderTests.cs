using System.Text;

namespace Podvisor.EmulatedHost.Tests;

public sealed class AgentMarkerReaderTests
{
    private static (string Output, List<string> Markers) Feed(params string[] chunks)
    {
        var markers = new List<string>();
        var sink = new MemoryStream();
        var reader = new AgentMarkerReader(markers.Add) { Sink = sink };
        foreach (string chunk in chunks) reader.Feed(Encoding.Latin1.GetBytes(chunk));
        return (Encoding.Latin1.GetString(sink.ToArray()), markers);
    }

    [Fact]
    public void SeparatesMarkersFromOutput()
    {
        var (output, markers) = Feed("hello\n\u0001PVDONE 3 0\u0001after");
        Assert.Equal("hello\nafter", output);
        Assert.Equal(["PVDONE 3 0"], markers);
    }

    [Fact]
    public void MarkerSplitAcrossReadsIsFound()
    {
        var (output, markers) = Feed("out\u0001P", "VDO", "NE 1 7\u0001", "x");
        Assert.Equal("outx", output);
        Assert.Equal(["PVDONE 1 7"], markers);
    }

    [Fact]
    public void StrayControlBytesArePassedThrough()
    {
        var (output, markers) = Feed("a\u0001b\u0001\u0001PVREADY 1.2\u0001c");
        Assert.Equal("a\u0001b\u0001c", output);
        Assert.Equal(["PVREADY 1.2"], markers);
    }

    [Fact]
    public void OverlongMarkerIsOutput()
    {
        string junk = "\u0001PV" + new string('x', 200);
        var (output, markers) = Feed(junk, "\u0001x");
        Assert.Empty(markers);
        Assert.Equal(junk + "\u0001x", output);
    }
}
