/** A fixed-size ring of the latest values: pushing past `capacity` drops the oldest. */
export class SampleRing<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The values, oldest first. */
  toArray(): T[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }

  /** The newest `count` values, oldest first. */
  latest(count: number): T[] {
    return count <= 0 ? [] : this.toArray().slice(-count);
  }
}
