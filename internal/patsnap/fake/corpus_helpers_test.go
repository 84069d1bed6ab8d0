package fake

// lookupPN returns the patent numbered pn, for tests that check what the
// corpus serves.
func (c *corpus) lookupPN(pn string) *patent {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensure()
	return c.byPN[pn]
}
