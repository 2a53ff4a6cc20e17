namespace Podvisor.Api.Schema;

/// <summary>A Kubernetes quantity ("256Mi", or a plain number): int-or-string with the quantity pattern.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaQuantityAttribute : Attribute;
