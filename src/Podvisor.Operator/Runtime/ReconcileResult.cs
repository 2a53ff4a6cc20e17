namespace Podvisor.Operator.Runtime;

/// <summary>What a reconcile asks for next: nothing (done until the object changes), or another look after a delay.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => new(null);

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}
