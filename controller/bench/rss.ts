// Placeholder replaced once the controller process exists.
export async function measureControllerRss(count: number): Promise<void> {
  console.log(`controller RSS with ${count} Services: not measured`);
}
