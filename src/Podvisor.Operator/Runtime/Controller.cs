namespace Podvisor.Operator.Runtime;

/// <summary>
/// Runs a reconciler over object keys: informers report changed keys into one <see cref="WorkQueue{TKey}"/>,
/// <paramref name="workers"/> workers take keys and call the reconciler, a failure comes back after the
/// queue's per-key back-off, a success resets it (and may ask for a timed re-check). Reconcilers are
/// level-based: they read the current state from the caches, never from the event that woke them.
/// </summary>
public sealed class Controller(string name, Func<string, CancellationToken, Task<ReconcileResult>> reconcile, int workers = 2,
    Action<string>? log = null)
{
    private readonly WorkQueue<string> _queue = new();

    public string Name => name;

    /// <summary>Keys reconciled so far (successfully or not).</summary>
    public long Reconciles => Interlocked.Read(ref _reconciles);
    private long _reconciles;

    /// <summary>Queues <paramref name="key"/> (an informer's Changed handler, or a mapping from a related object).</summary>
    public void Enqueue(string key) => _queue.Add(key);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = cancellationToken.Register(_queue.ShutDown);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None)));
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            (bool available, string key) item;
            try
            {
                item = await _queue.GetAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (!item.available) return;
            string key = item.key;
            string outcome = "error";
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            using var span = OperatorTelemetry.Tracing.StartActivity($"reconcile {name}");
            span?.SetTag("podvisor.controller", name);
            span?.SetTag("podvisor.key", key);
            try
            {
                var result = await reconcile(key, cancellationToken);
                _queue.Forget(key);
                if (result.RequeueAfter is { } delay) _queue.AddAfter(key, delay);
                outcome = result.RequeueAfter is null ? "success" : "requeue";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                outcome = "cancelled";
                return;
            }
            catch (Exception e)
            {
                // Never let one object's failure stop the controller: log it and come back later.
                log?.Invoke($"{name}: {key}: {e.Message} (retry {_queue.Failures(key) + 1})");
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
                _queue.AddRateLimited(key);
            }
            finally
            {
                Interlocked.Increment(ref _reconciles);
                _queue.Done(key);
                var controller = new KeyValuePair<string, object?>("controller", name);
                OperatorTelemetry.Reconciles.Add(1, controller, new("result", outcome));
                OperatorTelemetry.ReconcileDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, controller);
            }
        }
    }
}
