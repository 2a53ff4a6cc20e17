namespace Podvisor.Launcher;

/// <summary>
/// The guest's console output, handed to every attached console client (the control API's <c>/v1/console</c>
/// WebSockets) from the moment it attaches. The vCPU thread only appends to each client's buffer, never waits
/// on one: a client more than <see cref="MaxPendingBytes"/> behind loses output (counted), not the guest's time.
/// </summary>
public sealed class ConsoleFanout
{
    public const int MaxPendingBytes = 1 << 20;
    private readonly Lock _lock = new();
    private readonly List<Client> _clients = [];

    /// <summary>One attached client: what it has not been sent yet.</summary>
    public sealed class Client
    {
        internal readonly List<byte> Pending = new(4096);
        internal readonly SemaphoreSlim Ready = new(0, 1);

        /// <summary>Output this client lost because it fell too far behind.</summary>
        public long DroppedBytes { get; internal set; }
    }

    public int ClientCount
    {
        get { lock (_lock) return _clients.Count; }
    }

    public void Write(byte value)
    {
        lock (_lock)
        {
            foreach (var client in _clients)
            {
                if (client.Pending.Count >= MaxPendingBytes)
                {
                    client.DroppedBytes++;
                    continue;
                }
                client.Pending.Add(value);
                if (client.Ready.CurrentCount == 0) client.Ready.Release();
            }
        }
    }

    public Client Attach()
    {
        var client = new Client();
        lock (_lock) _clients.Add(client);
        return client;
    }

    public void Detach(Client client)
    {
        lock (_lock) _clients.Remove(client);
    }

    /// <summary>Waits for output for <paramref name="client"/> and takes all there is.</summary>
    public async Task<byte[]> ReadAsync(Client client, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_lock)
            {
                if (client.Pending.Count > 0)
                {
                    byte[] bytes = [.. client.Pending];
                    client.Pending.Clear();
                    return bytes;
                }
            }
            await client.Ready.WaitAsync(cancellationToken);
        }
    }
}
