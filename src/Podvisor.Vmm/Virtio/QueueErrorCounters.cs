namespace Podvisor.Vmm.Virtio;

/// <summary>Refused chains by reason: a hostile or buggy driver shows up here, never as a crash.</summary>
public sealed class QueueErrorCounters
{
    private readonly long[] _counts = new long[Enum.GetValues<ChainError>().Length];

    public void Count(ChainError error) => Interlocked.Increment(ref _counts[(int)error]);

    public long this[ChainError error] => Interlocked.Read(ref _counts[(int)error]);

    public long Total
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _counts.Length; i++) total += Interlocked.Read(ref _counts[i]);
            return total;
        }
    }

    public override string ToString() =>
        string.Join(", ", Enum.GetValues<ChainError>().Where(e => this[e] > 0).Select(e => $"{e}={this[e]}"));
}
