namespace Podvisor.Api;

/// <summary>Reading a resource's status conditions (the operator writes them through its own Conditions).</summary>
public static class ConditionLookup
{
    public static Condition? Find(IEnumerable<Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>Condition <paramref name="type"/> is there with status "True".</summary>
    public static bool IsTrue(IEnumerable<Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";
}
