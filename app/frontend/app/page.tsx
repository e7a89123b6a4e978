// Home page: the signed-in user's task list beside the chatbot (visitors without a session are sent to log in).
import Dashboard from '@/components/Dashboard';

export default function HomePage() {
  return <Dashboard />;
}
